-- Additive sums per school, period, phase filter and pupil cohort: the grain every published
-- figure rolls up from (sums of sessions and counts of enrolments add up; rates never do).
CREATE OR REPLACE VIEW school_cohorts AS
SELECT time_period, time_identifier, period_order,
       region_code, region_name, old_la_code, new_la_code, la_name, urn, school_name,
       education_phase, breakdown_topic, topic_order, breakdown, breakdown_order,
       count(*) AS enrolments,
       sum(possible) AS sess_possible,
       sum(overall) AS sess_overall,
       sum(authorised) AS sess_authorised,
       sum(unauthorised) AS sess_unauthorised,
       count(*) FILTER (WHERE persistent) AS enrolments_pa_10_exact,
       count(*) FILTER (WHERE severe) AS enrolments_pa_50_exact,
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
FROM enrolment_cohorts
GROUP BY time_period, time_identifier, period_order,
         region_code, region_name, old_la_code, new_la_code, la_name, urn, school_name,
         education_phase, breakdown_topic, topic_order, breakdown, breakdown_order
