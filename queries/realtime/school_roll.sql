-- total_num_schools and total_enrolments of every geography and phase (DOMAIN.md section 7):
-- the schools and enrolments (every age) on the roll, the `pupils` table of the academic year
-- (`realtime_pupils`), whatever the time frame.
CREATE OR REPLACE VIEW school_roll AS
SELECT g.geographic_level, g.geo_key, g.education_phase,
       count(DISTINCT p.urn) AS total_num_schools,
       count(*) AS total_enrolments
FROM realtime_pupils p
JOIN school_geographies g ON g.urn = p.urn
GROUP BY g.geographic_level, g.geo_key, g.education_phase
