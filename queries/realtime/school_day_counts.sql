-- Base layer: the counts of one school on one day, every measure of the real-time files that
-- adds up (DOMAIN.md section 7), and the in-scope enrolments with a possible session that day.
-- The roll-ups read only this table and `enrolment_week_counts`, never the marks.
CREATE OR REPLACE VIEW school_day_counts AS
SELECT urn, date, week_start, enrolments,
       sessions['present'] AS present_sessions,
       sessions['attendance'] AS overall_attendance,
       sessions['approved_activity'] AS approved_educational_activity,
       sessions['overall'] AS overall_absence,
       sessions['authorised'] AS authorised_absence,
       sessions['unauthorised'] AS unauthorised_absence,
       late_sessions,
       sessions['possible'] AS possible_sessions,
       reason_present_am, reason_present_pm, reason_present_am + reason_present_pm AS reason_present,
       reason_l_present_late_before_registers_closed,
       reason_i_authorised_illness, reason_m_authorised_medical_dental,
       reason_r_authorised_religious_observance, reason_s_authorised_study_leave,
       reason_t_authorised_mobile_child, reason_h_authorised_holiday,
       reason_e_authorised_excluded, reason_c_authorised_other,
       reason_c1_authorised_regulated_performance, reason_j1_authorised_interview,
       reason_c2_authorised_temp_reduced_timetable,
       reason_b_aea_education_off_site, reason_j_aea_interview,
       reason_p_aea_approved_sporting_activity, reason_v_aea_educational_visit_trip,
       reason_w_aea_work_experience, reason_k_aea_education_arranged_by_la,
       reason_g_unauthorised_holiday, reason_u_unauthorised_late_after_registers_closed,
       reason_o_other_unauthorised, reason_n_no_reason_yet
FROM (
    SELECT urn, date, week_start,
           count(DISTINCT CASE WHEN is_possible_session(code) THEN pupil_id END) AS enrolments,
           session_counts(code) AS sessions,
           count(*) FILTER (WHERE code IN ('L', 'U')) AS late_sessions,
           count(*) FILTER (WHERE code = '/') AS reason_present_am,
           count(*) FILTER (WHERE code = '\') AS reason_present_pm,
           count(*) FILTER (WHERE code = 'L') AS reason_l_present_late_before_registers_closed,
           count(*) FILTER (WHERE code = 'I') AS reason_i_authorised_illness,
           count(*) FILTER (WHERE code = 'M') AS reason_m_authorised_medical_dental,
           count(*) FILTER (WHERE code = 'R') AS reason_r_authorised_religious_observance,
           count(*) FILTER (WHERE code = 'S') AS reason_s_authorised_study_leave,
           count(*) FILTER (WHERE code = 'T') AS reason_t_authorised_mobile_child,
           -- F (extended family holiday, before August 2024) counts as H
           count(*) FILTER (WHERE code IN ('H', 'F')) AS reason_h_authorised_holiday,
           count(*) FILTER (WHERE code = 'E') AS reason_e_authorised_excluded,
           count(*) FILTER (WHERE code = 'C') AS reason_c_authorised_other,
           count(*) FILTER (WHERE code = 'C1') AS reason_c1_authorised_regulated_performance,
           count(*) FILTER (WHERE code = 'J1') AS reason_j1_authorised_interview,
           count(*) FILTER (WHERE code = 'C2') AS reason_c2_authorised_temp_reduced_timetable,
           count(*) FILTER (WHERE code = 'B') AS reason_b_aea_education_off_site,
           count(*) FILTER (WHERE code = 'J') AS reason_j_aea_interview,
           count(*) FILTER (WHERE code = 'P') AS reason_p_aea_approved_sporting_activity,
           count(*) FILTER (WHERE code = 'V') AS reason_v_aea_educational_visit_trip,
           count(*) FILTER (WHERE code = 'W') AS reason_w_aea_work_experience,
           count(*) FILTER (WHERE code = 'K') AS reason_k_aea_education_arranged_by_la,
           count(*) FILTER (WHERE code = 'G') AS reason_g_unauthorised_holiday,
           count(*) FILTER (WHERE code = 'U') AS reason_u_unauthorised_late_after_registers_closed,
           count(*) FILTER (WHERE code = 'O') AS reason_o_other_unauthorised,
           count(*) FILTER (WHERE code = 'N') AS reason_n_no_reason_yet
    FROM in_scope_marks
    GROUP BY urn, date, week_start
) day
