-- W6: weekly attendance % for one region (Yorkshire and The Humber) across the year.
-- One `session_counts` per week (a single pass over the codes) rather than two filtered counts.
WITH weeks AS (
    SELECT date_trunc('week', date) AS week_starting, session_counts(code) AS s
    FROM registers
    WHERE academic_year = '2024-25' AND region_code = 'E12000003'
    GROUP BY date_trunc('week', date)
)
SELECT week_starting, 100.0 * s['attendance'] / s['possible'] AS attendance_pct
FROM weeks
ORDER BY week_starting
