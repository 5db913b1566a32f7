-- The rows of persistent_absence_ytd_weekly.csv (DOMAIN.md section 7): for every reported week,
-- persistent absence year to date as of its end, for every National, Regional and Local
-- authority geography and phase, and `All schools` at National and Regional level, the mean of
-- the phases' percentages weighted by their total_enrolments (as a Total; summed in exact
-- decimals, as in attendance_rows.sql, so that the result does not depend on row order).
CREATE OR REPLACE VIEW pa_weekly_rows AS
WITH phases AS (
    SELECT pa.reference_date, pa.geographic_level, pa.region_code, pa.region_name,
           pa.new_la_code, pa.la_name, pa.old_la_code, pa.education_phase,
           100.0 * pa.enrolments_pa / pa.enrolments_counted AS persistent_absence_percent,
           pa.geographic_level = 'Local authority' AND pa.one_school
               AS suppressible,
           t.total_enrolments, pa.level_order, pa.geo_key, pa.phase_order
    FROM pa_rows pa
    JOIN school_roll t
      ON t.geographic_level = pa.geographic_level AND t.geo_key = pa.geo_key
     AND t.education_phase = pa.education_phase
    WHERE pa.geographic_level <> 'School'
)
SELECT * FROM phases
UNION ALL
SELECT reference_date, geographic_level, region_code, region_name, new_la_code, la_name,
       old_la_code, 'All schools',
       CAST(sum(CAST(persistent_absence_percent * total_enrolments AS DECIMAL(38, 17))) AS DOUBLE)
           / sum(total_enrolments),
       false, sum(total_enrolments), level_order, geo_key, 4
FROM phases
WHERE geographic_level IN ('National', 'Regional')
GROUP BY reference_date, geographic_level, region_code, region_name, new_la_code, la_name,
         old_la_code, level_order, geo_key
