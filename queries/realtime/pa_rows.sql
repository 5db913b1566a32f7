-- Persistent absence year to date as of the end of every reported week, for every geography and
-- phase with a counted enrolment by then (DOMAIN.md section 7): `enrolments_counted` have a
-- possible session year to date, `enrolments_pa` of them are persistently absent;
-- `one_school` says whether a single school has a possible session year to date.
CREATE OR REPLACE VIEW pa_rows AS
SELECT g.geographic_level, g.level_order, g.geo_key, g.region_code, g.region_name,
       g.new_la_code, g.la_name, g.old_la_code, g.education_phase, g.phase_order,
       w.week_start AS reference_date,
       sum(c.counted_change) AS enrolments_counted,
       sum(c.persistent_change) AS enrolments_pa,
       min(CASE WHEN c.counted_change > 0 THEN c.urn END)
           = max(CASE WHEN c.counted_change > 0 THEN c.urn END) AS one_school
FROM enrolment_pa_changes c
JOIN reported_weeks w ON c.week_start <= w.week_start
JOIN school_geographies g ON g.urn = c.urn
GROUP BY g.geographic_level, g.level_order, g.geo_key, g.region_code, g.region_name,
         g.new_la_code, g.la_name, g.old_la_code, g.education_phase, g.phase_order,
         w.week_start
HAVING sum(c.counted_change) > 0
