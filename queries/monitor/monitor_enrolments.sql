-- One row per in-scope enrolment (pupil at school) with a possible session year to date
-- (DOMAIN.md section 8, over section 7's scope and reported weeks): its sessions year to date,
-- over the recent span (the last `weeks` reported weeks) and before it, its status, and the
-- pupil's characteristics from `pupils`. A pupil who moved school has one row per school, each
-- on that school's marks (the enrolment-week counts are per school).
-- Every test is exact integer arithmetic:
-- - severe: overall * 2 >= possible (`is_severe_absence`);
-- - persistent: overall * 10 >= possible (`is_persistent_absence`), severe included;
-- - at risk: overall * 20 >= possible and not persistent (5% to under 10% absence);
-- - newly persistent: persistent now, and not persistent in the year to date before the
--   recent span (no possible session then counts as not persistent);
-- - falling: at least 10 possible sessions in each span and
--   100 * att_recent * poss_before <= (100 * att_before - 5 * poss_before) * poss_recent.
CREATE OR REPLACE VIEW monitor_enrolments AS
WITH spans AS (
    SELECT c.urn, c.pupil_id,
           sum(c.possible) AS possible,
           sum(c.overall) AS overall,
           coalesce(sum(c.possible) FILTER (WHERE w.recent), 0) AS possible_recent,
           coalesce(sum(c.overall) FILTER (WHERE w.recent), 0) AS overall_recent,
           coalesce(sum(c.possible) FILTER (WHERE NOT w.recent), 0) AS possible_before,
           coalesce(sum(c.overall) FILTER (WHERE NOT w.recent), 0) AS overall_before
    FROM enrolment_week_counts c
    JOIN monitor_weeks w ON w.week_start = c.week_start
    GROUP BY c.urn, c.pupil_id
    HAVING sum(c.possible) > 0
),
flags AS (
    SELECT s.*,
           s.possible - s.overall AS attendance,
           s.possible_recent - s.overall_recent AS attendance_recent,
           s.possible_before - s.overall_before AS attendance_before,
           is_severe_absence(s.overall, s.possible) AS severe,
           is_persistent_absence(s.overall, s.possible) AS persistent,
           s.overall * 20 >= s.possible AS at_least_at_risk,
           coalesce(is_persistent_absence(s.overall_before, s.possible_before), false)
               AS persistent_before
    FROM spans s
)
SELECT f.urn, f.pupil_id, p.nc_year, p.sex, p.fsm, p.sen, p.cla, p.cin, p.cpp,
       f.possible, f.attendance, f.overall,
       f.possible_recent, f.attendance_recent, f.overall_recent,
       f.possible_before, f.attendance_before, f.overall_before,
       CASE WHEN f.severe THEN 'severely absent'
            WHEN f.persistent THEN 'persistently absent'
            WHEN f.at_least_at_risk THEN 'at risk'
            ELSE '' END AS status,
       f.severe, f.persistent, f.persistent_before,
       f.persistent AND NOT f.persistent_before AS newly_persistent,
       f.possible_recent >= 10 AND f.possible_before >= 10
           AND 100 * f.attendance_recent * f.possible_before
               <= (100 * f.attendance_before - 5 * f.possible_before) * f.possible_recent
           AS falling
FROM flags f
JOIN realtime_pupils p ON p.urn = f.urn AND p.pupil_id = f.pupil_id
