-- attendance_bands.csv: how each cohort's enrolments spread over the attendance bands of
-- DOMAIN.md section 2, National and Local authority, for each education phase and Total.
-- enrolments_percent is the share of the cohort's enrolments that fall in the band.
SELECT time_period, time_identifier, geographic_level,
       'E92000001' AS country_code, 'England' AS country_name,
       region_code, region_name, old_la_code, new_la_code, la_name,
       education_phase, breakdown_topic, breakdown, band,
       enrolments,
       enrolments * 100.0 / sum(enrolments) OVER (
           PARTITION BY time_period, time_identifier, geographic_level, old_la_code,
                        education_phase, breakdown_topic, breakdown
       ) AS enrolments_percent
FROM band_counts
ORDER BY time_period, period_order,
         CASE geographic_level WHEN 'National' THEN 0 ELSE 1 END, region_code, old_la_code,
         CASE education_phase WHEN 'State-funded primary' THEN 1 WHEN 'State-funded secondary' THEN 2
              WHEN 'Special' THEN 3 ELSE 4 END,
         topic_order, breakdown_order,
         CASE band
             WHEN 'not persistently absent' THEN 0
             WHEN '80% to 90% attendance' THEN 1
             WHEN '70% to 80% attendance' THEN 2
             WHEN '60% to 70% attendance' THEN 3
             WHEN '50% to 60% attendance' THEN 4
             ELSE 5
         END
