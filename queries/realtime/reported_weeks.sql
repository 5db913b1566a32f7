-- The weeks reported (DOMAIN.md section 7): every ISO week in which the scope has a possible
-- session, by its Monday.
CREATE OR REPLACE VIEW reported_weeks AS
SELECT week_start
FROM school_day_counts
GROUP BY week_start
HAVING sum(possible_sessions) > 0
