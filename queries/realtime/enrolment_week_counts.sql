-- Base layer: the possible sessions and overall absence of one enrolment (pupil at school) in
-- one ISO week (`week_start` its Monday), from which persistent absence year to date is
-- computed as of the end of every week (enrolment_pa_changes.sql).
CREATE OR REPLACE VIEW enrolment_week_counts AS
SELECT urn, pupil_id, week_start,
       sessions['possible'] AS possible,
       sessions['overall'] AS overall
FROM (
    SELECT urn, pupil_id, week_start, session_counts(code) AS sessions
    FROM in_scope_marks
    GROUP BY urn, pupil_id, week_start
) week
