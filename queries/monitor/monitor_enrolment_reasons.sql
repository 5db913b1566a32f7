-- The sessions each in-scope enrolment missed year to date, by reason (DOMAIN.md section 1,
-- the EES reason names of `reason_counts`), for the pupil lists of a report.
CREATE OR REPLACE VIEW monitor_enrolment_reasons AS
SELECT urn, pupil_id, reason_counts(code) AS reasons
FROM in_scope_marks
GROUP BY urn, pupil_id
