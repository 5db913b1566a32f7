-- W6: weekly attendance % for one region (Yorkshire and The Humber) across the year.
SELECT date_trunc('week', date) AS week_starting,
       100.0 * count(*) FILTER (WHERE is_attendance(code))
             / count(*) FILTER (WHERE is_possible_session(code)) AS attendance_pct
FROM registers
WHERE academic_year = '2024-25' AND region_code = 'E12000003'
GROUP BY date_trunc('week', date)
ORDER BY week_starting
