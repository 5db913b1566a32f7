-- The enrolment summary: one row per enrolment (one pupil at one school) per term of an
-- academic year, in the headline scope of DOMAIN.md section 2. `attendance summarise`
-- materialises it as the table `enrolment_summary`; every indicator reads it, never `registers`.
--
-- Scope (DOMAIN.md section 2):
--   * pupils aged 5 to 15 on 31 August at the start of the academic year, from date_of_birth;
--     where it is missing, the age the NC year implies (NC year + 4, R 4, N2 3, N1 2; X out);
--   * for pupils aged 15, marks dated on or after the spring bank holiday (the last Monday of
--     May) are removed;
--   * schools of phase alternative_provision are out;
--   * enrolment-terms with no possible session are dropped.
-- Schools with fewer than 6 in-scope enrolments are kept here and removed by the indicators
-- (queries/indicators/enrolment_periods.sql), so that analysts can still see them.
WITH in_scope AS (
    -- @include in_scope_enrolments.sql (the headline scope, shared with the real-time files)
),
counts AS (
    SELECT r.academic_year, term(r.date) AS term, r.urn, r.pupil_id,
           session_counts(r.code) AS sessions,
           reason_counts(r.code) AS reasons
    FROM registers r
    JOIN in_scope e
      ON e.academic_year = r.academic_year AND e.urn = r.urn AND e.pupil_id = r.pupil_id
    WHERE e.marks_before IS NULL OR r.date < e.marks_before
    GROUP BY r.academic_year, term(r.date), r.urn, r.pupil_id
)
SELECT c.academic_year, c.term, c.urn, c.pupil_id,
       p.nc_year, p.sex, p.date_of_birth, p.fsm, p.sen, p.cla, p.cin, p.cpp,
       s.school_name, s.phase, s.old_la_code, s.new_la_code, s.la_name, s.region_code, s.region_name,
       c.sessions['possible'] AS possible,
       c.sessions['attendance'] AS attendance,
       c.sessions['present'] AS present,
       c.sessions['approved_activity'] AS approved_activity,
       c.sessions['authorised'] AS authorised,
       c.sessions['unauthorised'] AS unauthorised,
       c.sessions['overall'] AS overall,
       c.reasons['sess_auth_illness'] AS sess_auth_illness,
       c.reasons['sess_auth_appointments'] AS sess_auth_appointments,
       c.reasons['sess_auth_religious'] AS sess_auth_religious,
       c.reasons['sess_auth_study'] AS sess_auth_study,
       c.reasons['sess_auth_traveller'] AS sess_auth_traveller,
       c.reasons['sess_auth_holiday'] AS sess_auth_holiday,
       c.reasons['sess_auth_excluded'] AS sess_auth_excluded,
       c.reasons['sess_auth_other'] AS sess_auth_other,
       c.reasons['sess_auth_interview'] AS sess_auth_interview,
       c.reasons['sess_auth_reg_performance'] AS sess_auth_reg_performance,
       c.reasons['sess_auth_temp_reduced_timetable'] AS sess_auth_temp_reduced_timetable,
       c.reasons['sess_unauth_holiday'] AS sess_unauth_holiday,
       c.reasons['sess_unauth_late'] AS sess_unauth_late,
       c.reasons['sess_unauth_other'] AS sess_unauth_other,
       c.reasons['sess_unauth_noyet'] AS sess_unauth_noyet
FROM counts c
JOIN pupils p ON p.academic_year = c.academic_year AND p.urn = c.urn AND p.pupil_id = c.pupil_id
JOIN schools s ON s.urn = c.urn
WHERE c.sessions['possible'] > 0
ORDER BY c.academic_year, c.urn, c.pupil_id, c.term
