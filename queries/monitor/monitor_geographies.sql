-- The geographies a monitoring report compares (DOMAIN.md section 8): `Report`, the schools
-- the report selects (`monitor_selection`: one school, a trust's or an LA's); every school,
-- local authority and England, from the real-time files' geographies (alternative provision,
-- outside the scope, is in none).
CREATE OR REPLACE VIEW monitor_geographies AS
SELECT urn, geographic_level, level_order, geo_key
FROM school_geographies
WHERE geographic_level IN ('National', 'Local authority', 'School')
UNION ALL
SELECT s.urn, 'Report', 0, 'Report'
FROM monitor_selection s
JOIN school_geographies g ON g.urn = s.urn AND g.geographic_level = 'School'
