-- W5: the banding table for secondary pupils: share of each cohort's enrolments in each
-- attendance band (overall, EHC plan, SEN support, children in care, CIN/CPP, FSM, boys, girls).
WITH enrolments AS (
    SELECT r.urn, r.pupil_id, session_counts(r.code) AS s
    FROM registers r
    WHERE r.academic_year = '2024-25'
    GROUP BY r.urn, r.pupil_id
),
secondary AS (
    SELECT attendance_band(e.s['overall'], e.s['possible']) AS band, p.*
    FROM enrolments e
    JOIN schools sc ON sc.urn = e.urn AND sc.phase = 'secondary'
    JOIN pupils p ON p.academic_year = '2024-25' AND p.urn = e.urn AND p.pupil_id = e.pupil_id
    WHERE e.s['possible'] > 0
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
