-- The pupil list of `pupils.csv` (DOMAIN.md section 8): one row per in-scope enrolment with a
-- possible session year to date, in exactly the file's columns. `attendance_recent_percent` is
-- empty (NULL) for an enrolment with no possible session in the recent span.
CREATE OR REPLACE VIEW monitor_pupils AS
SELECT urn, pupil_id, nc_year, possible, attendance, overall,
       100.0 * attendance / possible AS attendance_percent,
       possible_recent,
       CASE WHEN possible_recent > 0 THEN 100.0 * attendance_recent / possible_recent END
           AS attendance_recent_percent,
       status, newly_persistent, falling
FROM monitor_enrolments
