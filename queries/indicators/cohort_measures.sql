-- Every published absence figure: the school cohorts rolled up to National, Regional, Local
-- authority and School level, with the rates computed from the sums (DOMAIN.md section 2:
-- rates are ratios of sums, never means of rates). The output files select their rows from here.
CREATE OR REPLACE VIEW cohort_measures AS
WITH rolled AS (
    SELECT time_period, time_identifier, period_order,
           CASE
               WHEN grouping(urn) = 0 THEN 'School'
               WHEN grouping(old_la_code) = 0 THEN 'Local authority'
               WHEN grouping(region_code) = 0 THEN 'Regional'
               ELSE 'National'
           END AS geographic_level,
           region_code, region_name, old_la_code, new_la_code, la_name, urn, school_name,
           education_phase, breakdown_topic, topic_order, breakdown, breakdown_order,
           count(*) AS num_schools,
           sum(enrolments) AS enrolments,
           sum(sess_possible) AS sess_possible,
           sum(sess_overall) AS sess_overall,
           sum(sess_authorised) AS sess_authorised,
           sum(sess_unauthorised) AS sess_unauthorised,
           sum(enrolments_pa_10_exact) AS enrolments_pa_10_exact,
           sum(enrolments_pa_50_exact) AS enrolments_pa_50_exact,
           sum(sess_auth_illness) AS sess_auth_illness,
           sum(sess_auth_appointments) AS sess_auth_appointments,
           sum(sess_auth_religious) AS sess_auth_religious,
           sum(sess_auth_study) AS sess_auth_study,
           sum(sess_auth_traveller) AS sess_auth_traveller,
           sum(sess_auth_holiday) AS sess_auth_holiday,
           sum(sess_auth_excluded) AS sess_auth_excluded,
           sum(sess_auth_other) AS sess_auth_other,
           sum(sess_auth_interview) AS sess_auth_interview,
           sum(sess_auth_reg_performance) AS sess_auth_reg_performance,
           sum(sess_auth_temp_reduced_timetable) AS sess_auth_temp_reduced_timetable,
           sum(sess_unauth_holiday) AS sess_unauth_holiday,
           sum(sess_unauth_late) AS sess_unauth_late,
           sum(sess_unauth_other) AS sess_unauth_other,
           sum(sess_unauth_noyet) AS sess_unauth_noyet
    FROM school_cohorts
    GROUP BY GROUPING SETS (
        (time_period, time_identifier, period_order,
         education_phase, breakdown_topic, topic_order, breakdown, breakdown_order),
        (time_period, time_identifier, period_order, region_code, region_name,
         education_phase, breakdown_topic, topic_order, breakdown, breakdown_order),
        (time_period, time_identifier, period_order, region_code, region_name,
         old_la_code, new_la_code, la_name,
         education_phase, breakdown_topic, topic_order, breakdown, breakdown_order),
        (time_period, time_identifier, period_order, region_code, region_name,
         old_la_code, new_la_code, la_name, urn, school_name,
         education_phase, breakdown_topic, topic_order, breakdown, breakdown_order)
    )
)
SELECT time_period, time_identifier, period_order, geographic_level,
       CASE geographic_level WHEN 'National' THEN 0 WHEN 'Regional' THEN 1
            WHEN 'Local authority' THEN 2 ELSE 3 END AS level_order,
       'E92000001' AS country_code, 'England' AS country_name,
       region_code, region_name, old_la_code, new_la_code, la_name,
       urn AS school_urn, school_name,
       education_phase,
       CASE education_phase WHEN 'State-funded primary' THEN 1 WHEN 'State-funded secondary' THEN 2
            WHEN 'Special' THEN 3 ELSE 4 END AS phase_order,
       breakdown_topic, topic_order, breakdown, breakdown_order,
       num_schools, enrolments, sess_possible, sess_overall, sess_authorised, sess_unauthorised,
       sess_overall * 100.0 / sess_possible AS sess_overall_percent,
       sess_authorised * 100.0 / sess_possible AS sess_authorised_percent,
       sess_unauthorised * 100.0 / sess_possible AS sess_unauthorised_percent,
       enrolments_pa_10_exact,
       enrolments_pa_10_exact * 100.0 / enrolments AS enrolments_pa_10_exact_percent,
       enrolments_pa_50_exact,
       enrolments_pa_50_exact * 100.0 / enrolments AS enrolments_pa_50_exact_percent,
       sess_auth_illness, sess_auth_appointments, sess_auth_religious, sess_auth_study,
       sess_auth_traveller, sess_auth_holiday, sess_auth_excluded, sess_auth_other,
       sess_auth_interview, sess_auth_reg_performance, sess_auth_temp_reduced_timetable,
       sess_unauth_holiday, sess_unauth_late, sess_unauth_other, sess_unauth_noyet
FROM rolled
