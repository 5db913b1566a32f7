-- W4: the W1 headline by key stage and by NC year (one result, `breakdown` says which).
WITH enrolments AS (
    SELECT r.urn, r.pupil_id, session_counts(r.code) AS s
    FROM registers r
    WHERE r.academic_year = '2024-25'
    GROUP BY r.urn, r.pupil_id
),
with_year AS (
    SELECT e.*, p.nc_year
    FROM enrolments e
    JOIN pupils p ON p.academic_year = '2024-25' AND p.urn = e.urn AND p.pupil_id = e.pupil_id
    WHERE s['possible'] > 0
),
cohorts AS (
    SELECT 'Key stage' AS breakdown, key_stage(nc_year) AS cohort, s FROM with_year
    UNION ALL
    SELECT 'NC year' AS breakdown, nc_year AS cohort, s FROM with_year
)
SELECT breakdown, cohort,
       sum(s['possible']) AS possible_sessions,
       100.0 * sum(s['overall']) / sum(s['possible']) AS overall_absence_pct,
       100.0 * sum(s['authorised']) / sum(s['possible']) AS authorised_absence_pct,
       100.0 * sum(s['unauthorised']) / sum(s['possible']) AS unauthorised_absence_pct,
       100.0 * count(*) FILTER (WHERE is_persistent_absence(s['overall'], s['possible'])) / count(*) AS pa_pct,
       100.0 * count(*) FILTER (WHERE is_severe_absence(s['overall'], s['possible'])) / count(*) AS sa_pct
FROM cohorts
GROUP BY breakdown, cohort
ORDER BY breakdown, cohort
