-- W5: the banding table for secondary pupils: share of each cohort's enrolments in each
-- attendance band (overall, EHC plan, SEN support, children in care, CIN/CPP, FSM, boys, girls).
-- Enrolments are counted once per band with one filtered count per cohort; a cross join with the
-- cohort names lays the counts out as rows (the registers are read once).
WITH enrolments AS (
    SELECT r.urn, r.pupil_id, session_counts(r.code) AS s
    FROM registers r
    WHERE r.academic_year = '2024-25'
    GROUP BY r.urn, r.pupil_id
),
by_band AS (
    SELECT attendance_band(e.s['overall'], e.s['possible']) AS band,
           count(*) AS all_pupils,
           count(*) FILTER (WHERE p.sen = 'E') AS ehc_plan,
           count(*) FILTER (WHERE p.sen = 'K') AS sen_support,
           count(*) FILTER (WHERE p.cla) AS in_care,
           count(*) FILTER (WHERE p.cin OR p.cpp) AS cin_cpp,
           count(*) FILTER (WHERE p.fsm) AS fsm,
           count(*) FILTER (WHERE p.sex = 'M') AS boys,
           count(*) FILTER (WHERE p.sex = 'F') AS girls
    FROM enrolments e
    JOIN schools sc ON sc.urn = e.urn AND sc.phase = 'secondary'
    JOIN pupils p ON p.academic_year = '2024-25' AND p.urn = e.urn AND p.pupil_id = e.pupil_id
    WHERE e.s['possible'] > 0
    GROUP BY attendance_band(e.s['overall'], e.s['possible'])
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
