-- The counts of every geography and phase on every day on which it has a possible session
-- (DOMAIN.md section 7), from the school-day counts: `schools` and `enrolments` are the schools
-- and in-scope enrolments with a possible session that day; `first_urn` and `last_urn` the
-- lowest and highest of those schools (equal when one school contributes).
CREATE OR REPLACE VIEW day_rows AS
SELECT g.geographic_level, g.level_order, g.geo_key, g.region_code, g.region_name,
       g.new_la_code, g.la_name, g.old_la_code, g.school_urn, g.school_name,
       g.education_phase, g.phase_order, d.date,
       count(*) FILTER (WHERE d.possible_sessions > 0) AS schools,
       min(d.urn) FILTER (WHERE d.possible_sessions > 0) AS first_urn,
       max(d.urn) FILTER (WHERE d.possible_sessions > 0) AS last_urn,
       sum(d.enrolments) AS enrolments,
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
       sum(d.reason_n_no_reason_yet) AS reason_n_no_reason_yet
FROM school_day_counts d
JOIN school_geographies g ON g.urn = d.urn
GROUP BY g.geographic_level, g.level_order, g.geo_key, g.region_code, g.region_name,
         g.new_la_code, g.la_name, g.old_la_code, g.school_urn, g.school_name,
         g.education_phase, g.phase_order, d.date
HAVING sum(d.possible_sessions) > 0
