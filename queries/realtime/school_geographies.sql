-- Every row a school counts in (DOMAIN.md section 7 levels): National, its region, its local
-- authority and itself, with its phase; `geo_key` identifies the geography within its level
-- (the geography columns of a coarser level are NULL). Alternative provision is not reported.
CREATE OR REPLACE VIEW school_geographies AS
WITH s AS (
    SELECT urn, school_name, old_la_code, new_la_code, la_name, region_code, region_name,
           CASE phase WHEN 'primary' THEN 'Primary' WHEN 'secondary' THEN 'Secondary'
                      WHEN 'special' THEN 'Special' END AS education_phase,
           CASE phase WHEN 'primary' THEN 1 WHEN 'secondary' THEN 2 WHEN 'special' THEN 3 END
               AS phase_order
    FROM schools
    WHERE phase IN ('primary', 'secondary', 'special')
)
SELECT urn, 'National' AS geographic_level, 1 AS level_order, 'E92000001' AS geo_key,
       CAST(NULL AS VARCHAR) AS region_code, CAST(NULL AS VARCHAR) AS region_name,
       CAST(NULL AS VARCHAR) AS new_la_code, CAST(NULL AS VARCHAR) AS la_name,
       CAST(NULL AS VARCHAR) AS old_la_code, CAST(NULL AS INT) AS school_urn,
       CAST(NULL AS VARCHAR) AS school_name, education_phase, phase_order
FROM s
UNION ALL
SELECT urn, 'Regional', 2, region_code AS geo_key, region_code, region_name,
       NULL AS new_la_code, NULL AS la_name, NULL AS old_la_code, NULL AS school_urn,
       NULL AS school_name, education_phase, phase_order
FROM s
UNION ALL
SELECT urn, 'Local authority', 3, old_la_code AS geo_key, region_code, region_name,
       new_la_code, la_name, old_la_code, NULL AS school_urn, NULL AS school_name,
       education_phase, phase_order
FROM s
UNION ALL
SELECT urn, 'School', 4, CAST(urn AS VARCHAR) AS geo_key, region_code, region_name, new_la_code,
       la_name, old_la_code, urn AS school_urn, school_name, education_phase, phase_order
FROM s
