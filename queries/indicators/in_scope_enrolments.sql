-- The enrolments of the headline scope (DOMAIN.md section 2), one row per enrolment per
-- academic year: pupils aged 5 to 15 on 31 August at the start of the academic year, from
-- date_of_birth; where it is missing, the age the NC year implies (NC year + 4, R 4, N2 3, N1 2;
-- X out); schools of phase alternative_provision out. `marks_before` is the spring bank holiday
-- for pupils aged 15 (their marks dated on or after it are removed) and NULL for the others.
-- Read by the enrolment summary (queries/indicators/enrolment_summary.sql) and by the real-time
-- files (queries/realtime/in_scope_marks.sql); the small-school removal is the indicators' own.
SELECT academic_year, urn, pupil_id, age,
       CASE WHEN age = 15 THEN spring_bank_holiday(academic_year) END AS marks_before
FROM (
    SELECT p.academic_year, p.urn, p.pupil_id,
           CASE
               WHEN p.date_of_birth IS NOT NULL THEN
                   CAST(substr(p.academic_year, 1, 4) AS INT)
                   - CAST(date_part('year', p.date_of_birth) AS INT)
                   -- born September to December: not yet had the birthday by 31 August
                   - CASE WHEN date_part('month', p.date_of_birth) >= 9 THEN 1 ELSE 0 END
               WHEN p.nc_year = 'N1' THEN 2
               WHEN p.nc_year = 'N2' THEN 3
               WHEN p.nc_year = 'R' THEN 4
               WHEN p.nc_year = 'X' THEN NULL
               ELSE CAST(p.nc_year AS INT) + 4
           END AS age
    FROM pupils p
    JOIN schools s ON s.urn = p.urn
    WHERE s.phase <> 'alternative_provision'
) enrolments
WHERE age BETWEEN 5 AND 15
