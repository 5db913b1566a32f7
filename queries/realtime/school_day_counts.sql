-- Base layer: the counts of one school on one day, every measure of the real-time files that
-- adds up (DOMAIN.md section 7), and the in-scope enrolments with a possible session that day.
-- The roll-ups read only this table and `enrolment_week_counts`, never the marks.
-- The marks are counted per code first (a few rows per school-day), then each measure is a sum
-- over the codes: the categories from `attendance_category` (the code table), the reasons by
-- their codes.
CREATE OR REPLACE VIEW school_day_counts AS
WITH code_counts AS (
    SELECT urn, date, week_start, code, count(*) AS marks
    FROM in_scope_marks
    GROUP BY urn, date, week_start, code
),
day_enrolments AS (
    SELECT urn, date, count(DISTINCT pupil_id) AS enrolments
    FROM in_scope_marks
    WHERE is_possible_session(code)
    GROUP BY urn, date
),
categories AS (
    SELECT urn, date, week_start, code, marks, attendance_category(code) AS category
    FROM code_counts
)
SELECT c.urn, c.date, c.week_start, coalesce(e.enrolments, 0) AS enrolments,
       sum(CASE WHEN c.category = 'present' THEN c.marks ELSE 0 END) AS present_sessions,
       sum(CASE WHEN c.category IN ('present', 'approved_activity') THEN c.marks ELSE 0 END)
           AS overall_attendance,
       sum(CASE WHEN c.category = 'approved_activity' THEN c.marks ELSE 0 END)
           AS approved_educational_activity,
       sum(CASE WHEN c.category IN ('authorised', 'unauthorised') THEN c.marks ELSE 0 END)
           AS overall_absence,
       sum(CASE WHEN c.category = 'authorised' THEN c.marks ELSE 0 END) AS authorised_absence,
       sum(CASE WHEN c.category = 'unauthorised' THEN c.marks ELSE 0 END) AS unauthorised_absence,
       sum(CASE WHEN c.code IN ('L', 'U') THEN c.marks ELSE 0 END) AS late_sessions,
       sum(CASE WHEN c.category IN ('present', 'approved_activity', 'authorised', 'unauthorised')
                THEN c.marks ELSE 0 END) AS possible_sessions,
       sum(CASE WHEN c.code = '/' THEN c.marks ELSE 0 END) AS reason_present_am,
       sum(CASE WHEN c.code = '\' THEN c.marks ELSE 0 END) AS reason_present_pm,
       sum(CASE WHEN c.code IN ('/', '\') THEN c.marks ELSE 0 END) AS reason_present,
       sum(CASE WHEN c.code = 'L' THEN c.marks ELSE 0 END) AS reason_l_present_late_before_registers_closed,
       sum(CASE WHEN c.code = 'I' THEN c.marks ELSE 0 END) AS reason_i_authorised_illness,
       sum(CASE WHEN c.code = 'M' THEN c.marks ELSE 0 END) AS reason_m_authorised_medical_dental,
       sum(CASE WHEN c.code = 'R' THEN c.marks ELSE 0 END) AS reason_r_authorised_religious_observance,
       sum(CASE WHEN c.code = 'S' THEN c.marks ELSE 0 END) AS reason_s_authorised_study_leave,
       sum(CASE WHEN c.code = 'T' THEN c.marks ELSE 0 END) AS reason_t_authorised_mobile_child,
       -- F (extended family holiday, before August 2024) counts as H
       sum(CASE WHEN c.code IN ('H', 'F') THEN c.marks ELSE 0 END) AS reason_h_authorised_holiday,
       sum(CASE WHEN c.code = 'E' THEN c.marks ELSE 0 END) AS reason_e_authorised_excluded,
       sum(CASE WHEN c.code = 'C' THEN c.marks ELSE 0 END) AS reason_c_authorised_other,
       sum(CASE WHEN c.code = 'C1' THEN c.marks ELSE 0 END) AS reason_c1_authorised_regulated_performance,
       sum(CASE WHEN c.code = 'J1' THEN c.marks ELSE 0 END) AS reason_j1_authorised_interview,
       sum(CASE WHEN c.code = 'C2' THEN c.marks ELSE 0 END) AS reason_c2_authorised_temp_reduced_timetable,
       sum(CASE WHEN c.code = 'B' THEN c.marks ELSE 0 END) AS reason_b_aea_education_off_site,
       sum(CASE WHEN c.code = 'J' THEN c.marks ELSE 0 END) AS reason_j_aea_interview,
       sum(CASE WHEN c.code = 'P' THEN c.marks ELSE 0 END) AS reason_p_aea_approved_sporting_activity,
       sum(CASE WHEN c.code = 'V' THEN c.marks ELSE 0 END) AS reason_v_aea_educational_visit_trip,
       sum(CASE WHEN c.code = 'W' THEN c.marks ELSE 0 END) AS reason_w_aea_work_experience,
       sum(CASE WHEN c.code = 'K' THEN c.marks ELSE 0 END) AS reason_k_aea_education_arranged_by_la,
       sum(CASE WHEN c.code = 'G' THEN c.marks ELSE 0 END) AS reason_g_unauthorised_holiday,
       sum(CASE WHEN c.code = 'U' THEN c.marks ELSE 0 END) AS reason_u_unauthorised_late_after_registers_closed,
       sum(CASE WHEN c.code = 'O' THEN c.marks ELSE 0 END) AS reason_o_other_unauthorised,
       sum(CASE WHEN c.code = 'N' THEN c.marks ELSE 0 END) AS reason_n_no_reason_yet
FROM categories c
LEFT JOIN day_enrolments e ON e.urn = c.urn AND e.date = c.date
GROUP BY c.urn, c.date, c.week_start, e.enrolments
