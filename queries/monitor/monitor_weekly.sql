-- Attendance in every reported week (DOMAIN.md sections 7 and 8) for every geography of
-- `monitor_geographies`: the week's attendance (present and approved activity) over its
-- possible sessions, from the real-time files' school-day counts.
CREATE OR REPLACE VIEW monitor_weekly AS
SELECT g.geographic_level, g.geo_key, d.week_start,
       sum(d.possible_sessions) AS possible,
       sum(d.overall_attendance) AS attendance,
       100.0 * sum(d.overall_attendance) / sum(d.possible_sessions) AS attendance_percent,
       g.level_order
FROM school_day_counts d
JOIN monitor_geographies g ON g.urn = d.urn
GROUP BY g.geographic_level, g.level_order, g.geo_key, d.week_start
HAVING sum(d.possible_sessions) > 0
