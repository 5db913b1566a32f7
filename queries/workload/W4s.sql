-- W4 from `enrolment_summary`: the headline by key stage and by NC year.
-- The summary holds the headline scope of DOMAIN.md section 2 (pupils aged 5 to 15, no
-- alternative provision, the second half of the summer term removed for pupils aged 15), one row
-- per enrolment and term: terms are summed per enrolment first.
WITH enrolments AS (
    SELECT nc_year, urn, pupil_id,
           sum(possible) AS possible, sum(authorised) AS authorised,
           sum(unauthorised) AS unauthorised, sum(overall) AS overall
    FROM enrolment_summary
    WHERE academic_year = '2024-25'
    GROUP BY nc_year, urn, pupil_id
),
cohorts AS (
    SELECT 'Key stage' AS breakdown, key_stage(nc_year) AS cohort, possible, authorised,
           unauthorised, overall
    FROM enrolments WHERE possible > 0
    UNION ALL
    SELECT 'NC year' AS breakdown, nc_year AS cohort, possible, authorised, unauthorised, overall
    FROM enrolments WHERE possible > 0
)
SELECT breakdown, cohort,
       sum(possible) AS possible_sessions,
       100.0 * sum(overall) / sum(possible) AS overall_absence_pct,
       100.0 * sum(authorised) / sum(possible) AS authorised_absence_pct,
       100.0 * sum(unauthorised) / sum(possible) AS unauthorised_absence_pct,
       100.0 * count(*) FILTER (WHERE is_persistent_absence(overall, possible)) / count(*) AS pa_pct,
       100.0 * count(*) FILTER (WHERE is_severe_absence(overall, possible)) / count(*) AS sa_pct
FROM cohorts
GROUP BY breakdown, cohort
ORDER BY breakdown, cohort
