-- attendance_ytd.csv: the year to date (to the end of the last week reported) per geography
-- and phase.
SELECT * EXCLUDE (level_order, geo_key, phase_order)
FROM attendance_rows
WHERE time_frame = 'Year to date'
ORDER BY level_order, region_code, old_la_code, school_urn, phase_order
