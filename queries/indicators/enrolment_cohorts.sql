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
    SELECT *, 'Sex', 1, CASE sex WHEN 'M' THEN 'Male' ELSE 'Female' END,
           CASE sex WHEN 'M' THEN 1 ELSE 2 END
    FROM phased
    UNION ALL
    SELECT *, 'FSM', 2, CASE WHEN fsm THEN 'FSM eligible' ELSE 'Not FSM eligible' END,
           CASE WHEN fsm THEN 1 ELSE 2 END
    FROM phased
    UNION ALL
    SELECT *, 'SEN provision', 3,
           CASE sen WHEN 'E' THEN 'EHC plan' WHEN 'K' THEN 'SEN support' ELSE 'No SEN' END,
           CASE sen WHEN 'E' THEN 1 WHEN 'K' THEN 2 ELSE 3 END
    FROM phased
    UNION ALL
    SELECT *, 'Looked after', 4, CASE WHEN cla THEN 'Looked after' ELSE 'Not looked after' END,
           CASE WHEN cla THEN 1 ELSE 2 END
    FROM phased
    UNION ALL
    SELECT *, 'CIN or CPP', 5, CASE WHEN cin OR cpp THEN 'CIN or CPP' ELSE 'Not CIN or CPP' END,
           CASE WHEN cin OR cpp THEN 1 ELSE 2 END
    FROM phased
    UNION ALL
    SELECT *, 'Key stage', 6, key_stage, CAST(substr(key_stage, 3, 1) AS INT)
    FROM phased
    WHERE key_stage IN ('KS1', 'KS2', 'KS3', 'KS4')
    UNION ALL
    SELECT *, 'NC year', 7, 'Year ' || nc_year, CAST(nc_year AS INT)
    FROM phased
    WHERE nc_year IN ('1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11')
)
SELECT * FROM cohorts
