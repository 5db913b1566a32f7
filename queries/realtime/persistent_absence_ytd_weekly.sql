-- persistent_absence_ytd_weekly.csv: year-to-date persistent absence as of the end of every
-- reported week, in exactly the columns of DOMAIN.md section 7 (and `suppressible`, which the
-- writer reads and drops).
SELECT CAST(date_part('isoyear', reference_date) AS INT) AS time_period,
       concat('Week ', CAST(CAST(date_part('week', reference_date) AS INT) AS VARCHAR))
           AS time_identifier,
       'Year to date' AS time_frame, geographic_level,
       'E92000001' AS country_code, 'England' AS country_name,
       region_code, region_name, new_la_code, la_name, old_la_code, education_phase,
       persistent_absence_percent, suppressible
FROM pa_weekly_rows
ORDER BY reference_date, level_order, region_code, old_la_code, phase_order
