-- W5 from `enrolment_summary`: the banding table for secondary pupils by cohort.
-- The summary holds the headline scope of DOMAIN.md section 2 (pupils aged 5 to 15, no
-- alternative provision, the second half of the summer term removed for pupils aged 15), one row
-- per enrolment and term: terms are summed per enrolment first.
WITH enrolments AS (
    SELECT phase, sex, fsm, sen, cla, cin, cpp, urn, pupil_id,
           sum(possible) AS possible, sum(authorised) AS authorised,
           sum(unauthorised) AS unauthorised, sum(overall) AS overall
    FROM enrolment_summary
    WHERE academic_year = '2024-25'
    GROUP BY phase, sex, fsm, sen, cla, cin, cpp, urn, pupil_id
),
secondary AS (
    SELECT attendance_band(overall, possible) AS band, sex, fsm, sen, cla, cin, cpp
    FROM enrolments
    WHERE phase = 'secondary' AND possible > 0
),
cohorts AS (
    SELECT 'All pupils' AS cohort, band FROM secondary
    UNION ALL SELECT 'EHC plan', band FROM secondary WHERE sen = 'E'
    UNION ALL SELECT 'SEN support', band FROM secondary WHERE sen = 'K'
    UNION ALL SELECT 'Children in care', band FROM secondary WHERE cla
    UNION ALL SELECT 'CIN or CPP', band FROM secondary WHERE cin OR cpp
    UNION ALL SELECT 'FSM', band FROM secondary WHERE fsm
    UNION ALL SELECT 'Boys', band FROM secondary WHERE sex = 'M'
    UNION ALL SELECT 'Girls', band FROM secondary WHERE sex = 'F'
)
SELECT cohort, band, count(*) AS enrolments,
       100.0 * count(*) / sum(count(*)) OVER (PARTITION BY cohort) AS pct_of_cohort
FROM cohorts
GROUP BY cohort, band
ORDER BY cohort, band
