-- The marks of the real-time files (DOMAIN.md section 7): the headline scope of section 2
-- (ages 5 to 15, the 15-year-olds' marks from the spring bank holiday on removed, alternative
-- provision out) without the small-school removal, with the Monday of each mark's ISO week.
-- `realtime_registers` is the academic year's registers up to the --through date.
CREATE OR REPLACE VIEW in_scope_marks AS
SELECT r.urn, r.pupil_id, r.date, r.code,
       CAST(date_trunc('week', r.date) AS DATE) AS week_start
FROM realtime_registers r
JOIN (
    -- @include in_scope_enrolments.sql
) e ON e.academic_year = r.academic_year AND e.urn = r.urn AND e.pupil_id = r.pupil_id
WHERE e.marks_before IS NULL OR r.date < e.marks_before
