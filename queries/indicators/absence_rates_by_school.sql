-- absence_rates_by_school.csv: one row per school per period, with the school's own phase and
-- no Total (DOMAIN.md section 6).
SELECT time_period, time_identifier, geographic_level, country_code, country_name,
       region_code, region_name, old_la_code, new_la_code, la_name, school_urn, school_name,
       education_phase,
       num_schools, enrolments, sess_possible, sess_overall, sess_authorised, sess_unauthorised,
       sess_overall_percent, sess_authorised_percent, sess_unauthorised_percent,
       enrolments_pa_10_exact, enrolments_pa_10_exact_percent,
       enrolments_pa_50_exact, enrolments_pa_50_exact_percent,
       sess_auth_illness, sess_auth_appointments, sess_auth_religious, sess_auth_study,
       sess_auth_traveller, sess_auth_holiday, sess_auth_excluded, sess_auth_other,
       sess_auth_interview, sess_auth_reg_performance, sess_auth_temp_reduced_timetable,
       sess_unauth_holiday, sess_unauth_late, sess_unauth_other, sess_unauth_noyet
FROM cohort_measures
WHERE geographic_level = 'School'
  AND breakdown_topic = 'Total'
  AND education_phase <> 'Total'
ORDER BY time_period, period_order, region_code, old_la_code, school_urn
