-- Attendance in every reported week (DOMAIN.md sections 7 and 8) for every geography of
-- `monitor_geographies`: the week's attendance (present and approved activity: possible
-- sessions less overall absence) over its possible sessions, from the enrolment-week counts.
CREATE OR REPLACE VIEW monitor_weekly AS
SELECT g.geographic_level, g.geo_key, c.week_start,
       sum(c.possible) AS possible,
       sum(c.possible - c.overall) AS attendance,
       100.0 * sum(c.possible - c.overall) / sum(c.possible) AS attendance_percent,
       g.level_order
FROM enrolment_week_counts c
JOIN monitor_geographies g ON g.urn = c.urn
GROUP BY g.geographic_level, g.level_order, g.geo_key, c.week_start
HAVING sum(c.possible) > 0
