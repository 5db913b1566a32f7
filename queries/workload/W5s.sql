-- W5 from `enrolment_summary`: the banding table for secondary pupils by cohort.
-- The summary holds the headline scope of DOMAIN.md section 2 (pupils aged 5 to 15, no
-- alternative provision, the second half of the summer term removed for pupils aged 15), one row
-- per enrolment and term: terms are summed per enrolment first. Same shape as W5.sql.
WITH enrolments AS (
    SELECT phase, sex, fsm, sen, cla, cin, cpp, urn, pupil_id,
           sum(possible) AS possible, sum(authorised) AS authorised,
           sum(unauthorised) AS unauthorised, sum(overall) AS overall
    FROM enrolment_summary
    WHERE academic_year = '2024-25'
    GROUP BY phase, sex, fsm, sen, cla, cin, cpp, urn, pupil_id
),
by_band AS (
    SELECT attendance_band(overall, possible) AS band,
           count(*) AS all_pupils,
           count(*) FILTER (WHERE sen = 'E') AS ehc_plan,
           count(*) FILTER (WHERE sen = 'K') AS sen_support,
           count(*) FILTER (WHERE cla) AS in_care,
           count(*) FILTER (WHERE cin OR cpp) AS cin_cpp,
           count(*) FILTER (WHERE fsm) AS fsm,
           count(*) FILTER (WHERE sex = 'M') AS boys,
           count(*) FILTER (WHERE sex = 'F') AS girls
    FROM enrolments
    WHERE phase = 'secondary' AND possible > 0
    GROUP BY attendance_band(overall, possible)
),
cells AS (
    SELECT c.cohort, b.band,
           CASE c.cohort
               WHEN 'All pupils' THEN b.all_pupils
               WHEN 'EHC plan' THEN b.ehc_plan
               WHEN 'SEN support' THEN b.sen_support
               WHEN 'Children in care' THEN b.in_care
               WHEN 'CIN or CPP' THEN b.cin_cpp
               WHEN 'FSM' THEN b.fsm
               WHEN 'Boys' THEN b.boys
               WHEN 'Girls' THEN b.girls
           END AS enrolments
    FROM by_band b
    CROSS JOIN (VALUES ('All pupils'), ('EHC plan'), ('SEN support'), ('Children in care'),
                       ('CIN or CPP'), ('FSM'), ('Boys'), ('Girls')) AS c(cohort)
)
SELECT cohort, band, enrolments,
       100.0 * enrolments / sum(enrolments) OVER (PARTITION BY cohort) AS pct_of_cohort
FROM cells
WHERE enrolments > 0
ORDER BY cohort, band
