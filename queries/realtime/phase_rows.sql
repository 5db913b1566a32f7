-- The counts of every geography, phase and time frame that has a possible session (DOMAIN.md
-- section 7), from the day rows. `num_schools` and `enrolments` are means over the row's days
-- (a day counts when a school of the row has a possible session on it) of the schools and
-- in-scope enrolments with a possible session that day; `one_school` says whether a single
-- school has a possible session in the row's days (for suppression).
-- `time_period` is the ISO week-numbering year of the row's week, `time_identifier` its ISO
-- week number (the week of the reference date, a Monday or a day of that week).
-- The columns come in the order of the files; the last four are for joins, sorting and
-- suppression.
CREATE OR REPLACE VIEW phase_rows AS
SELECT CAST(date_part('isoyear', f.reference_date) AS INT) AS time_period,
       concat('Week ', CAST(CAST(date_part('week', f.reference_date) AS INT) AS VARCHAR))
           AS time_identifier,
       f.time_frame, f.reference_date, d.geographic_level,
       'E92000001' AS country_code, 'England' AS country_name,
       d.region_code, d.region_name, d.new_la_code, d.la_name, d.old_la_code,
       d.school_urn, d.school_name, d.education_phase,
       CAST(sum(d.schools) AS DOUBLE) / count(*) AS num_schools,
       CAST(sum(d.enrolments) AS DOUBLE) / count(*) AS enrolments,
       sum(d.present_sessions) AS present_sessions,
       sum(d.overall_attendance) AS overall_attendance,
       sum(d.approved_educational_activity) AS approved_educational_activity,
       sum(d.overall_absence) AS overall_absence,
       sum(d.authorised_absence) AS authorised_absence,
       sum(d.unauthorised_absence) AS unauthorised_absence,
       sum(d.late_sessions) AS late_sessions,
       sum(d.possible_sessions) AS possible_sessions,
       sum(d.reason_present_am) AS reason_present_am,
       sum(d.reason_present_pm) AS reason_present_pm,
       sum(d.reason_present) AS reason_present,
       sum(d.reason_l_present_late_before_registers_closed) AS reason_l_present_late_before_registers_closed,
       sum(d.reason_i_authorised_illness) AS reason_i_authorised_illness,
       sum(d.reason_m_authorised_medical_dental) AS reason_m_authorised_medical_dental,
       sum(d.reason_r_authorised_religious_observance) AS reason_r_authorised_religious_observance,
       sum(d.reason_s_authorised_study_leave) AS reason_s_authorised_study_leave,
       sum(d.reason_t_authorised_mobile_child) AS reason_t_authorised_mobile_child,
       sum(d.reason_h_authorised_holiday) AS reason_h_authorised_holiday,
       sum(d.reason_e_authorised_excluded) AS reason_e_authorised_excluded,
       sum(d.reason_c_authorised_other) AS reason_c_authorised_other,
       sum(d.reason_c1_authorised_regulated_performance) AS reason_c1_authorised_regulated_performance,
       sum(d.reason_j1_authorised_interview) AS reason_j1_authorised_interview,
       sum(d.reason_c2_authorised_temp_reduced_timetable) AS reason_c2_authorised_temp_reduced_timetable,
       sum(d.reason_b_aea_education_off_site) AS reason_b_aea_education_off_site,
       sum(d.reason_j_aea_interview) AS reason_j_aea_interview,
       sum(d.reason_p_aea_approved_sporting_activity) AS reason_p_aea_approved_sporting_activity,
       sum(d.reason_v_aea_educational_visit_trip) AS reason_v_aea_educational_visit_trip,
       sum(d.reason_w_aea_work_experience) AS reason_w_aea_work_experience,
       sum(d.reason_k_aea_education_arranged_by_la) AS reason_k_aea_education_arranged_by_la,
       sum(d.reason_g_unauthorised_holiday) AS reason_g_unauthorised_holiday,
       sum(d.reason_u_unauthorised_late_after_registers_closed) AS reason_u_unauthorised_late_after_registers_closed,
       sum(d.reason_o_other_unauthorised) AS reason_o_other_unauthorised,
       sum(d.reason_n_no_reason_yet) AS reason_n_no_reason_yet,
       min(d.first_urn) = max(d.last_urn) AS one_school,
       d.level_order, d.geo_key, d.phase_order
FROM day_rows d
JOIN time_frames f ON f.date = d.date
GROUP BY d.geographic_level, d.level_order, d.geo_key, d.region_code, d.region_name,
         d.new_la_code, d.la_name, d.old_la_code, d.school_urn, d.school_name,
         d.education_phase, d.phase_order, f.time_frame, f.reference_date
