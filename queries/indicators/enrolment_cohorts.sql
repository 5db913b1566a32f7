-- Enrolment-periods, each repeated once per phase filter (the school's own phase, and `Total`)
-- and once per pupil cohort it belongs to (DOMAIN.md section 6):
-- `Total`; `Sex`; `FSM`; `SEN provision`; `Looked after`; `CIN or CPP` (child in need or on a
-- child protection plan); `Key stage` KS1 to KS4; `NC year` Year 1 to Year 11.
CREATE OR REPLACE VIEW enrolment_cohorts AS
WITH phased AS (
    SELECT *, school_education_phase AS education_phase FROM enrolment_periods
    UNION ALL
    SELECT *, 'Total' AS education_phase FROM enrolment_periods
),
cohorts AS (
    SELECT *, 'Total' AS breakdown_topic, 0 AS topic_order, 'Total' AS breakdown, 0 AS breakdown_order
    FROM phased
    UNION ALL
    SELECT *, 'Sex' AS breakdown_topic, 1 AS topic_order,
           CASE sex WHEN 'M' THEN 'Male' ELSE 'Female' END AS breakdown,
           CASE sex WHEN 'M' THEN 1 ELSE 2 END AS breakdown_order
    FROM phased
    UNION ALL
    SELECT *, 'FSM' AS breakdown_topic, 2 AS topic_order,
           CASE WHEN fsm THEN 'FSM eligible' ELSE 'Not FSM eligible' END AS breakdown,
           CASE WHEN fsm THEN 1 ELSE 2 END AS breakdown_order
    FROM phased
    UNION ALL
    SELECT *, 'SEN provision' AS breakdown_topic, 3 AS topic_order,
           CASE sen WHEN 'E' THEN 'EHC plan' WHEN 'K' THEN 'SEN support' ELSE 'No SEN' END AS breakdown,
           CASE sen WHEN 'E' THEN 1 WHEN 'K' THEN 2 ELSE 3 END AS breakdown_order
    FROM phased
    UNION ALL
    SELECT *, 'Looked after' AS breakdown_topic, 4 AS topic_order,
           CASE WHEN cla THEN 'Looked after' ELSE 'Not looked after' END AS breakdown,
           CASE WHEN cla THEN 1 ELSE 2 END AS breakdown_order
    FROM phased
    UNION ALL
    SELECT *, 'CIN or CPP' AS breakdown_topic, 5 AS topic_order,
           CASE WHEN cin OR cpp THEN 'CIN or CPP' ELSE 'Not CIN or CPP' END AS breakdown,
           CASE WHEN cin OR cpp THEN 1 ELSE 2 END AS breakdown_order
    FROM phased
    UNION ALL
    SELECT *, 'Key stage' AS breakdown_topic, 6 AS topic_order, key_stage AS breakdown,
           CAST(substr(key_stage, 3, 1) AS INT) AS breakdown_order
    FROM phased
    WHERE key_stage IN ('KS1', 'KS2', 'KS3', 'KS4')
    UNION ALL
    SELECT *, 'NC year' AS breakdown_topic, 7 AS topic_order, 'Year ' || nc_year AS breakdown,
           CAST(nc_year AS INT) AS breakdown_order
    FROM phased
    WHERE nc_year IN ('1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11')
)
SELECT * FROM cohorts
