-- Enrolment-periods: the enrolment summary rolled up to the EES time identifiers, one row per
-- enrolment per period, with the enrolment's own persistent / severe absence flags and band for
-- that period. Every indicator file is an aggregation of this view.
--
-- Reads `indicator_input`: the rows of `enrolment_summary` for the academic years asked for.
--
-- DOMAIN.md section 6: a time identifier covers the marks dated inside it; an enrolment counts in
-- every period in which it has a possible session, and its PA and SA flags are computed on that
-- period's own sessions. A period is reported when the data has marks in each of its terms.
-- DOMAIN.md section 2: a school with fewer than 6 in-scope enrolments (with at least one possible
-- session in the academic year) is removed from every figure.
CREATE OR REPLACE VIEW enrolment_periods AS
WITH periods (time_identifier, period_order, term) AS (
    VALUES ('Autumn term', 1, 'autumn'),
           ('Spring term', 2, 'spring'),
           ('Summer term', 3, 'summer'),
           ('Autumn and spring term', 4, 'autumn'),
           ('Autumn and spring term', 4, 'spring'),
           ('Academic year', 5, 'autumn'),
           ('Academic year', 5, 'spring'),
           ('Academic year', 5, 'summer')
),
terms_present AS (
    SELECT DISTINCT academic_year, term FROM indicator_input
),
found AS (
    -- how many of each period's terms have marks, per academic year
    SELECT t.academic_year, p.time_identifier, count(*) AS terms_found
    FROM periods p
    JOIN terms_present t ON t.term = p.term
    GROUP BY t.academic_year, p.time_identifier
),
needed AS (
    SELECT time_identifier, count(*) AS terms_needed FROM periods GROUP BY time_identifier
),
covered AS (
    SELECT f.academic_year, p.time_identifier, p.period_order, p.term
    FROM found f
    JOIN needed n ON n.time_identifier = f.time_identifier
    JOIN periods p ON p.time_identifier = f.time_identifier
    WHERE f.terms_found = n.terms_needed
),
large_schools AS (
    SELECT academic_year, urn
    FROM indicator_input
    GROUP BY academic_year, urn
    HAVING count(DISTINCT pupil_id) >= 6
),
sums AS (
    SELECT i.academic_year, c.time_identifier, c.period_order, i.urn, i.pupil_id,
           i.nc_year, i.sex, i.fsm, i.sen, i.cla, i.cin, i.cpp,
           i.school_name, i.phase, i.old_la_code, i.new_la_code, i.la_name, i.region_code, i.region_name,
           sum(i.possible) AS possible,
           sum(i.attendance) AS attendance,
           sum(i.authorised) AS authorised,
           sum(i.unauthorised) AS unauthorised,
           sum(i.overall) AS overall,
           sum(i.sess_auth_illness) AS sess_auth_illness,
           sum(i.sess_auth_appointments) AS sess_auth_appointments,
           sum(i.sess_auth_religious) AS sess_auth_religious,
           sum(i.sess_auth_study) AS sess_auth_study,
           sum(i.sess_auth_traveller) AS sess_auth_traveller,
           sum(i.sess_auth_holiday) AS sess_auth_holiday,
           sum(i.sess_auth_excluded) AS sess_auth_excluded,
           sum(i.sess_auth_other) AS sess_auth_other,
           sum(i.sess_auth_interview) AS sess_auth_interview,
           sum(i.sess_auth_reg_performance) AS sess_auth_reg_performance,
           sum(i.sess_auth_temp_reduced_timetable) AS sess_auth_temp_reduced_timetable,
           sum(i.sess_unauth_holiday) AS sess_unauth_holiday,
           sum(i.sess_unauth_late) AS sess_unauth_late,
           sum(i.sess_unauth_other) AS sess_unauth_other,
           sum(i.sess_unauth_noyet) AS sess_unauth_noyet
    -- the small sides first: the join builds its hash table on them, not on the summary
    FROM covered c
    JOIN large_schools l ON l.academic_year = c.academic_year
    JOIN indicator_input i
      ON i.academic_year = c.academic_year AND i.term = c.term AND i.urn = l.urn
    GROUP BY i.academic_year, c.time_identifier, c.period_order, i.urn, i.pupil_id,
             i.nc_year, i.sex, i.fsm, i.sen, i.cla, i.cin, i.cpp,
             i.school_name, i.phase, i.old_la_code, i.new_la_code, i.la_name, i.region_code, i.region_name
)
SELECT CAST(substr(academic_year, 1, 4) || substr(academic_year, 6, 2) AS INT) AS time_period,
       CASE phase
           WHEN 'primary' THEN 'State-funded primary'
           WHEN 'secondary' THEN 'State-funded secondary'
           WHEN 'special' THEN 'Special'
       END AS school_education_phase,
       key_stage(nc_year) AS key_stage,
       is_persistent_absence(overall, possible) AS persistent,
       is_severe_absence(overall, possible) AS severe,
       attendance_band(overall, possible) AS band,
       *
FROM sums
WHERE possible > 0
