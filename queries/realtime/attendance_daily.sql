-- attendance_daily.csv: one row per day (time_frame `Monday` .. `Friday`) per geography and phase.
SELECT * EXCLUDE (level_order, geo_key, phase_order)
FROM attendance_rows
WHERE time_frame NOT IN ('Week', 'Year to date')
ORDER BY reference_date, level_order, region_code, old_la_code, school_urn, phase_order
