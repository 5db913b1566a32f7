-- W3 from `enrolment_summary`: the headline by local authority x phase.
-- The summary holds the headline scope of DOMAIN.md section 2 (pupils aged 5 to 15, no
-- alternative provision, the second half of the summer term removed for pupils aged 15), one row
-- per enrolment and term: terms are summed per enrolment first.
WITH enrolments AS (
    SELECT old_la_code, la_name, phase, urn, pupil_id,
           sum(possible) AS possible, sum(authorised) AS authorised,
           sum(unauthorised) AS unauthorised, sum(overall) AS overall
    FROM enrolment_summary
    WHERE academic_year = '2024-25'
    GROUP BY old_la_code, la_name, phase, urn, pupil_id
)
SELECT old_la_code AS la_code, la_name, phase,
       sum(possible) AS possible_sessions,
       100.0 * sum(overall) / sum(possible) AS overall_absence_pct,
       100.0 * sum(authorised) / sum(possible) AS authorised_absence_pct,
       100.0 * sum(unauthorised) / sum(possible) AS unauthorised_absence_pct,
       100.0 * count(*) FILTER (WHERE is_persistent_absence(overall, possible)) / count(*) AS pa_pct,
       100.0 * count(*) FILTER (WHERE is_severe_absence(overall, possible)) / count(*) AS sa_pct
FROM enrolments
WHERE possible > 0
GROUP BY old_la_code, la_name, phase
ORDER BY la_code, phase
