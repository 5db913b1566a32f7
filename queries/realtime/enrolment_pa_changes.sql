-- Persistent absence year to date, as of the end of every week, from the enrolment-week counts
-- (DOMAIN.md sections 2 and 7): an enrolment is counted from its first week with a possible
-- session, and is persistently absent at the end of a week when its overall absence year to
-- date is 10% or more of its possible sessions year to date (`is_persistent_absence`). Per
-- school and week: how many enrolments became counted that week, and the change in the number
-- of persistent absentees. The sum of the changes over the weeks up to W is the state at W.
CREATE OR REPLACE VIEW enrolment_pa_changes AS
WITH running AS (
    SELECT urn, pupil_id, week_start,
           sum(possible) OVER ytd AS possible,
           sum(overall) OVER ytd AS overall
    FROM enrolment_week_counts
    WINDOW ytd AS (PARTITION BY urn, pupil_id ORDER BY week_start
                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
flags AS (
    SELECT urn, pupil_id, week_start,
           CASE WHEN possible > 0 THEN 1 ELSE 0 END AS counted,
           CASE WHEN is_persistent_absence(overall, possible) THEN 1 ELSE 0 END AS persistent
    FROM running
),
changes AS (
    SELECT urn, week_start,
           counted - lag(counted, 1, 0) OVER enrolment AS counted_change,
           persistent - lag(persistent, 1, 0) OVER enrolment AS persistent_change
    FROM flags
    WINDOW enrolment AS (PARTITION BY urn, pupil_id ORDER BY week_start)
)
SELECT urn, week_start,
       sum(counted_change) AS counted_change,
       sum(persistent_change) AS persistent_change
FROM changes
GROUP BY urn, week_start
