-- Enrolment-periods counted by attendance band (DOMAIN.md section 2), National and Local
-- authority, for each education phase and Total and each pupil cohort.
CREATE OR REPLACE VIEW band_counts AS
SELECT time_period, time_identifier, period_order,
       CASE WHEN grouping(old_la_code) = 0 THEN 'Local authority' ELSE 'National' END
           AS geographic_level,
       region_code, region_name, old_la_code, new_la_code, la_name,
       education_phase, breakdown_topic, topic_order, breakdown, breakdown_order, band,
       count(*) AS enrolments
FROM enrolment_cohorts
GROUP BY GROUPING SETS (
    (time_period, time_identifier, period_order,
     education_phase, breakdown_topic, topic_order, breakdown, breakdown_order, band),
    (time_period, time_identifier, period_order, region_code, region_name,
     old_la_code, new_la_code, la_name,
     education_phase, breakdown_topic, topic_order, breakdown, breakdown_order, band)
)
