-- The rows of the three attendance files (DOMAIN.md section 7), every level and time frame:
-- each phase row with its roll, its rates (sessions / possible x 100) and, year to date only,
-- pa_perc; then a `Total` row for National and Regional geographies, whose counts (and means)
-- are the sums of its phases' and whose rates, pa_perc included, are the means of its phases'
-- rates weighted by their total_enrolments (the DfE's method).
-- The Total's sums of fractions are taken in exact decimals, so that they do not depend on the
-- order the phases' rows arrive in (floating-point addition is not associative): the same
-- registers always give the same files, to the last digit.
-- `suppressible`: a Local authority row to which one school contributes, and every School row.
CREATE OR REPLACE VIEW attendance_rows AS
WITH rated AS (
    SELECT r.* EXCLUDE (one_school, level_order, geo_key, phase_order),
           t.total_num_schools, t.total_enrolments,
           100.0 * r.overall_attendance / r.possible_sessions AS attendance_perc,
           100.0 * r.overall_absence / r.possible_sessions AS overall_absence_perc,
           100.0 * r.authorised_absence / r.possible_sessions AS authorised_absence_perc,
           100.0 * r.unauthorised_absence / r.possible_sessions AS unauthorised_absence_perc,
           100.0 * r.reason_i_authorised_illness / r.possible_sessions AS illness_perc,
           100.0 * r.reason_m_authorised_medical_dental / r.possible_sessions AS appointments_perc,
           100.0 * r.reason_g_unauthorised_holiday / r.possible_sessions AS unauth_hol_perc,
           100.0 * r.reason_o_other_unauthorised / r.possible_sessions AS unauth_oth_perc,
           100.0 * r.reason_u_unauthorised_late_after_registers_closed / r.possible_sessions
               AS unauth_late_registers_closed_perc,
           100.0 * r.reason_n_no_reason_yet / r.possible_sessions AS unauth_not_yet_perc,
           100.0 * r.reason_r_authorised_religious_observance / r.possible_sessions
               AS auth_religious_perc,
           100.0 * r.reason_s_authorised_study_leave / r.possible_sessions AS auth_study_perc,
           100.0 * r.reason_t_authorised_mobile_child / r.possible_sessions AS auth_mob_perc,
           100.0 * r.reason_e_authorised_excluded / r.possible_sessions AS auth_excluded_perc,
           100.0 * r.reason_c1_authorised_regulated_performance / r.possible_sessions
               AS auth_performance_perc,
           100.0 * r.reason_j1_authorised_interview / r.possible_sessions AS auth_interview_perc,
           100.0 * r.reason_c2_authorised_temp_reduced_timetable / r.possible_sessions
               AS auth_part_time_perc,
           100.0 * r.reason_c_authorised_other / r.possible_sessions AS auth_other_perc,
           -- persistence needs a longer span: year to date only
           CASE WHEN r.time_frame = 'Year to date'
                THEN 100.0 * pa.enrolments_pa / pa.enrolments_counted END AS pa_perc,
           r.geographic_level = 'School'
               OR (r.geographic_level = 'Local authority' AND r.one_school)
               AS suppressible,
           r.level_order, r.geo_key, r.phase_order
    FROM phase_rows r
    JOIN school_roll t
      ON t.geographic_level = r.geographic_level AND t.geo_key = r.geo_key
     AND t.education_phase = r.education_phase
    LEFT JOIN pa_rows pa
      ON r.time_frame = 'Year to date' AND pa.reference_date = r.reference_date
     AND pa.geographic_level = r.geographic_level AND pa.geo_key = r.geo_key
     AND pa.education_phase = r.education_phase
)
SELECT * FROM rated
UNION ALL
SELECT time_period, time_identifier, time_frame, reference_date, geographic_level,
       country_code, country_name, region_code, region_name, new_la_code, la_name, old_la_code,
       school_urn, school_name, 'Total',
       CAST(sum(CAST(num_schools AS DECIMAL(38, 17))) AS DOUBLE),
       CAST(sum(CAST(enrolments AS DECIMAL(38, 17))) AS DOUBLE),
       sum(present_sessions), sum(overall_attendance), sum(approved_educational_activity),
       sum(overall_absence), sum(authorised_absence), sum(unauthorised_absence),
       sum(late_sessions), sum(possible_sessions),
       sum(reason_present_am), sum(reason_present_pm), sum(reason_present),
       sum(reason_l_present_late_before_registers_closed),
       sum(reason_i_authorised_illness), sum(reason_m_authorised_medical_dental),
       sum(reason_r_authorised_religious_observance), sum(reason_s_authorised_study_leave),
       sum(reason_t_authorised_mobile_child), sum(reason_h_authorised_holiday),
       sum(reason_e_authorised_excluded), sum(reason_c_authorised_other),
       sum(reason_c1_authorised_regulated_performance), sum(reason_j1_authorised_interview),
       sum(reason_c2_authorised_temp_reduced_timetable),
       sum(reason_b_aea_education_off_site), sum(reason_j_aea_interview),
       sum(reason_p_aea_approved_sporting_activity), sum(reason_v_aea_educational_visit_trip),
       sum(reason_w_aea_work_experience), sum(reason_k_aea_education_arranged_by_la),
       sum(reason_g_unauthorised_holiday), sum(reason_u_unauthorised_late_after_registers_closed),
       sum(reason_o_other_unauthorised), sum(reason_n_no_reason_yet),
       sum(total_num_schools), sum(total_enrolments),
       CAST(sum(CAST(attendance_perc * total_enrolments AS DECIMAL(38, 17))) AS DOUBLE)
           / sum(total_enrolments),
       CAST(sum(CAST(overall_absence_perc * total_enrolments AS DECIMAL(38, 17))) AS DOUBLE)
           / sum(total_enrolments),
       CAST(sum(CAST(authorised_absence_perc * total_enrolments AS DECIMAL(38, 17))) AS DOUBLE)
           / sum(total_enrolments),
       CAST(sum(CAST(unauthorised_absence_perc * total_enrolments AS DECIMAL(38, 17))) AS DOUBLE)
           / sum(total_enrolments),
       CAST(sum(CAST(illness_perc * total_enrolments AS DECIMAL(38, 17))) AS DOUBLE)
           / sum(total_enrolments),
       CAST(sum(CAST(appointments_perc * total_enrolments AS DECIMAL(38, 17))) AS DOUBLE)
           / sum(total_enrolments),
       CAST(sum(CAST(unauth_hol_perc * total_enrolments AS DECIMAL(38, 17))) AS DOUBLE)
           / sum(total_enrolments),
       CAST(sum(CAST(unauth_oth_perc * total_enrolments AS DECIMAL(38, 17))) AS DOUBLE)
           / sum(total_enrolments),
       CAST(sum(CAST(unauth_late_registers_closed_perc * total_enrolments AS DECIMAL(38, 17))) AS DOUBLE)
           / sum(total_enrolments),
       CAST(sum(CAST(unauth_not_yet_perc * total_enrolments AS DECIMAL(38, 17))) AS DOUBLE)
           / sum(total_enrolments),
       CAST(sum(CAST(auth_religious_perc * total_enrolments AS DECIMAL(38, 17))) AS DOUBLE)
           / sum(total_enrolments),
       CAST(sum(CAST(auth_study_perc * total_enrolments AS DECIMAL(38, 17))) AS DOUBLE)
           / sum(total_enrolments),
       CAST(sum(CAST(auth_mob_perc * total_enrolments AS DECIMAL(38, 17))) AS DOUBLE)
           / sum(total_enrolments),
       CAST(sum(CAST(auth_excluded_perc * total_enrolments AS DECIMAL(38, 17))) AS DOUBLE)
           / sum(total_enrolments),
       CAST(sum(CAST(auth_performance_perc * total_enrolments AS DECIMAL(38, 17))) AS DOUBLE)
           / sum(total_enrolments),
       CAST(sum(CAST(auth_interview_perc * total_enrolments AS DECIMAL(38, 17))) AS DOUBLE)
           / sum(total_enrolments),
       CAST(sum(CAST(auth_part_time_perc * total_enrolments AS DECIMAL(38, 17))) AS DOUBLE)
           / sum(total_enrolments),
       CAST(sum(CAST(auth_other_perc * total_enrolments AS DECIMAL(38, 17))) AS DOUBLE)
           / sum(total_enrolments),
       CAST(sum(CAST(pa_perc * total_enrolments AS DECIMAL(38, 17))) AS DOUBLE)
           / sum(total_enrolments),
       false, level_order, geo_key, 4
FROM rated
WHERE geographic_level IN ('National', 'Regional')
GROUP BY time_period, time_identifier, time_frame, reference_date, geographic_level,
         country_code, country_name, region_code, region_name, new_la_code, la_name,
         old_la_code, school_urn, school_name, level_order, geo_key
