-- attendance_weekly.csv: one row per ISO week (time_frame `Week`) per geography and phase.
SELECT * EXCLUDE (level_order, geo_key, phase_order)
FROM attendance_rows
WHERE time_frame = 'Week'
ORDER BY reference_date, level_order, region_code, old_la_code, school_urn, phase_order
