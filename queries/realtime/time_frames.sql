-- The time frames each day counts in (DOMAIN.md section 7): its own (`Monday` .. `Friday`,
-- reference date the day), its ISO week (`Week`, reference date the Monday) and the year to date
-- (to the end of the last week reported, reference date that week's Monday).
CREATE OR REPLACE VIEW time_frames AS
WITH days AS (SELECT DISTINCT date, week_start FROM school_day_counts)
SELECT date,
       CASE CAST(date_part('isodow', date) AS INT)
           WHEN 1 THEN 'Monday' WHEN 2 THEN 'Tuesday' WHEN 3 THEN 'Wednesday'
           WHEN 4 THEN 'Thursday' WHEN 5 THEN 'Friday'
       END AS time_frame,
       date AS reference_date
FROM days
UNION ALL
SELECT date, 'Week', week_start FROM days
UNION ALL
SELECT d.date, 'Year to date', w.last_week
FROM days d CROSS JOIN (SELECT max(week_start) AS last_week FROM reported_weeks) w
WHERE d.week_start <= w.last_week
