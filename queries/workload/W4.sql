-- W4: the W1 headline by key stage and by NC year (one result, `breakdown` says which).
-- Enrolments are summed by NC year once; the key stage rows are sums of NC year rows (a key
-- stage is a set of NC years), laid out by a cross join with the two breakdown names, so the
-- registers are read once (a CTE referenced twice would be computed twice).
WITH enrolments AS (
    SELECT r.urn, r.pupil_id, session_counts(r.code) AS s
    FROM registers r
    WHERE r.academic_year = '2024-25'
    GROUP BY r.urn, r.pupil_id
),
by_year AS (
    SELECT p.nc_year,
           sum(e.s['possible']) AS possible,
           sum(e.s['overall']) AS overall,
           sum(e.s['authorised']) AS authorised,
           sum(e.s['unauthorised']) AS unauthorised,
           count(*) FILTER (WHERE is_persistent_absence(e.s['overall'], e.s['possible'])) AS pa,
           count(*) FILTER (WHERE is_severe_absence(e.s['overall'], e.s['possible'])) AS sa,
           count(*) AS enrolments
    FROM enrolments e
    JOIN pupils p ON p.academic_year = '2024-25' AND p.urn = e.urn AND p.pupil_id = e.pupil_id
    WHERE e.s['possible'] > 0
    GROUP BY p.nc_year
),
cohorts AS (
    SELECT b.breakdown,
           CASE WHEN b.breakdown = 'Key stage' THEN key_stage(y.nc_year) ELSE y.nc_year END AS cohort,
           y.*
    FROM by_year y
    CROSS JOIN (VALUES ('Key stage'), ('NC year')) AS b(breakdown)
)
SELECT breakdown, cohort,
       sum(possible) AS possible_sessions,
       100.0 * sum(overall) / sum(possible) AS overall_absence_pct,
       100.0 * sum(authorised) / sum(possible) AS authorised_absence_pct,
       100.0 * sum(unauthorised) / sum(possible) AS unauthorised_absence_pct,
       100.0 * sum(pa) / sum(enrolments) AS pa_pct,
       100.0 * sum(sa) / sum(enrolments) AS sa_pct
FROM cohorts
GROUP BY breakdown, cohort
ORDER BY breakdown, cohort
