-- W4 from `enrolment_summary`: the headline by key stage and by NC year.
-- The summary holds the headline scope of DOMAIN.md section 2 (pupils aged 5 to 15, no
-- alternative provision, the second half of the summer term removed for pupils aged 15), one row
-- per enrolment and term: terms are summed per enrolment first. Same shape as W4.sql.
WITH enrolments AS (
    SELECT nc_year, urn, pupil_id,
           sum(possible) AS possible, sum(authorised) AS authorised,
           sum(unauthorised) AS unauthorised, sum(overall) AS overall
    FROM enrolment_summary
    WHERE academic_year = '2024-25'
    GROUP BY nc_year, urn, pupil_id
),
by_year AS (
    SELECT nc_year,
           sum(possible) AS possible,
           sum(overall) AS overall,
           sum(authorised) AS authorised,
           sum(unauthorised) AS unauthorised,
           count(*) FILTER (WHERE is_persistent_absence(overall, possible)) AS pa,
           count(*) FILTER (WHERE is_severe_absence(overall, possible)) AS sa,
           count(*) AS enrolments
    FROM enrolments
    WHERE possible > 0
    GROUP BY nc_year
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
