-- Attendance, persistent absence (PA) and severe absence (SA) year to date by pupil cohort
-- (DOMAIN.md sections 4 and 8) for every geography of `monitor_geographies`: the enrolments
-- of monitor_enrolments, each counted once in `Total` and once in each topic's breakdown it
-- belongs to. Rates are ratios of sums (section 2): attendance over possible sessions; PA and
-- SA enrolments over enrolments.
CREATE OR REPLACE VIEW monitor_cohorts AS
WITH placed AS (
    SELECT e.*, g.geographic_level, g.level_order, g.geo_key
    FROM monitor_enrolments e
    JOIN monitor_geographies g ON g.urn = e.urn
),
cohorts AS (
    SELECT *, 'Total' AS breakdown_topic, 0 AS topic_order, 'Total' AS breakdown,
           0 AS breakdown_order
    FROM placed
    UNION ALL
    SELECT *, 'Sex', 1, CASE sex WHEN 'M' THEN 'Male' ELSE 'Female' END,
           CASE sex WHEN 'M' THEN 1 ELSE 2 END
    FROM placed
    UNION ALL
    SELECT *, 'FSM', 2, CASE WHEN fsm THEN 'FSM eligible' ELSE 'Not FSM eligible' END,
           CASE WHEN fsm THEN 1 ELSE 2 END
    FROM placed
    UNION ALL
    SELECT *, 'SEN provision', 3,
           CASE sen WHEN 'E' THEN 'EHC plan' WHEN 'K' THEN 'SEN support' ELSE 'No SEN' END,
           CASE sen WHEN 'E' THEN 1 WHEN 'K' THEN 2 ELSE 3 END
    FROM placed
    UNION ALL
    SELECT *, 'Looked after', 4, CASE WHEN cla THEN 'Looked after' ELSE 'Not looked after' END,
           CASE WHEN cla THEN 1 ELSE 2 END
    FROM placed
    UNION ALL
    SELECT *, 'CIN or CPP', 5, CASE WHEN cin OR cpp THEN 'CIN or CPP' ELSE 'Not CIN or CPP' END,
           CASE WHEN cin OR cpp THEN 1 ELSE 2 END
    FROM placed
    UNION ALL
    SELECT *, 'NC year', 6,
           CASE nc_year WHEN 'N1' THEN 'Nursery 1' WHEN 'N2' THEN 'Nursery 2'
                        WHEN 'R' THEN 'Reception' WHEN 'X' THEN 'Not following the NC'
                        ELSE concat('Year ', nc_year) END,
           CASE nc_year WHEN 'N1' THEN -2 WHEN 'N2' THEN -1 WHEN 'R' THEN 0
                        ELSE coalesce(TRY_CAST(nc_year AS INT), 99) END
    FROM placed
)
SELECT geographic_level, geo_key, breakdown_topic, breakdown,
       count(*) AS enrolments,
       sum(possible) AS possible,
       sum(attendance) AS attendance,
       sum(overall) AS overall,
       100.0 * sum(attendance) / sum(possible) AS attendance_percent,
       count(*) FILTER (WHERE persistent) AS pa_enrolments,
       100.0 * count(*) FILTER (WHERE persistent) / count(*) AS pa_percent,
       count(*) FILTER (WHERE severe) AS sa_enrolments,
       100.0 * count(*) FILTER (WHERE severe) / count(*) AS sa_percent,
       level_order, topic_order, breakdown_order
FROM cohorts
GROUP BY geographic_level, level_order, geo_key, breakdown_topic, topic_order, breakdown,
         breakdown_order
