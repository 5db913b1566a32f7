-- The reported weeks of DOMAIN.md section 7 (over the whole store, whatever a report selects):
-- the weeks in which the scope has a possible session (as `reported_weeks`, here from the
-- enrolment-week counts, so that a report reads the marks once), numbered from the first, and
-- the two spans of section 8: `recent` marks the last `weeks`
-- reported weeks (`monitor_parameters`); the others make the year to date "before" them, to
-- the end of the week `weeks` reported weeks earlier. With `weeks` or fewer weeks reported,
-- every week is recent and there is no "before".
CREATE OR REPLACE VIEW monitor_weeks AS
WITH numbered AS (
    SELECT week_start,
           row_number() OVER (ORDER BY week_start) AS week_number,
           count(*) OVER () AS weeks_reported
    FROM enrolment_week_counts
    GROUP BY week_start
    HAVING sum(possible) > 0
)
SELECT n.week_start, n.week_number, n.weeks_reported,
       n.week_number > n.weeks_reported - p.weeks AS recent
FROM numbered n
CROSS JOIN monitor_parameters p
