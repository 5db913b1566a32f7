-- The school table of a trust or LA report (DOMAIN.md section 8): the schools of
-- `monitor_selection` from monitor_schools, ranked by persistent absence year to date, highest
-- first (`pa_rank`, ties sharing a rank). A school of 1 or 2 enrolments, whose measures a
-- report suppresses (section 6), is not ranked, so that its place does not reveal them.
CREATE OR REPLACE VIEW monitor_report_schools AS
WITH ranked AS (
    SELECT s.*, s.enrolments > 2 AS ranked,
           rank() OVER (PARTITION BY s.enrolments > 2 ORDER BY s.pa_percent DESC) AS pa_rank
    FROM monitor_schools s
    WHERE s.urn IN (SELECT urn FROM monitor_selection)
)
SELECT CASE WHEN ranked THEN pa_rank END AS pa_rank,
       urn, school_name, phase, old_la_code, la_name,
       enrolments, possible, attendance, attendance_percent,
       pa_enrolments, pa_percent, sa_enrolments, sa_percent,
       newly_persistent, falling, pa_percent_before, pa_change_points
FROM ranked
