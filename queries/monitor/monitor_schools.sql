-- One row per school with an in-scope enrolment counted year to date (DOMAIN.md section 8),
-- for the school tables of trust and LA reports: attendance, PA and SA year to date, the
-- pupils newly persistently absent and falling, and PA as at the end of the week `weeks`
-- reported weeks earlier (over the enrolments counted then) with the change since, in
-- percentage points (NULL without that baseline).
CREATE OR REPLACE VIEW monitor_schools AS
WITH measures AS (
    SELECT e.urn,
           count(*) AS enrolments,
           sum(e.possible) AS possible,
           sum(e.attendance) AS attendance,
           100.0 * sum(e.attendance) / sum(e.possible) AS attendance_percent,
           count(*) FILTER (WHERE e.persistent) AS pa_enrolments,
           100.0 * count(*) FILTER (WHERE e.persistent) / count(*) AS pa_percent,
           count(*) FILTER (WHERE e.severe) AS sa_enrolments,
           100.0 * count(*) FILTER (WHERE e.severe) / count(*) AS sa_percent,
           count(*) FILTER (WHERE e.newly_persistent) AS newly_persistent,
           count(*) FILTER (WHERE e.falling) AS falling,
           100.0 * count(*) FILTER (WHERE e.persistent_before)
               / nullif(count(*) FILTER (WHERE e.possible_before > 0), 0) AS pa_percent_before
    FROM monitor_enrolments e
    GROUP BY e.urn
)
SELECT m.urn, s.school_name, s.phase, s.old_la_code, s.la_name,
       m.enrolments, m.possible, m.attendance, m.attendance_percent,
       m.pa_enrolments, m.pa_percent, m.sa_enrolments, m.sa_percent,
       m.newly_persistent, m.falling, m.pa_percent_before,
       m.pa_percent - m.pa_percent_before AS pa_change_points
FROM measures m
JOIN schools s ON s.urn = m.urn
