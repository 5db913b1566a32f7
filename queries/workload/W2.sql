-- W2: the W1 headline by region x phase. Enrolments are grouped by (urn, pupil_id) alone and
-- take their region from `schools`: the same answer (a school's marks are stored in its own
-- region's partition) with a narrower grouping key.
WITH enrolments AS (
    SELECT urn, pupil_id, session_counts(code) AS s
    FROM registers
    WHERE academic_year = '2024-25'
    GROUP BY urn, pupil_id
)
SELECT sc.region_code, sc.phase,
       sum(s['possible']) AS possible_sessions,
       100.0 * sum(s['overall']) / sum(s['possible']) AS overall_absence_pct,
       100.0 * sum(s['authorised']) / sum(s['possible']) AS authorised_absence_pct,
       100.0 * sum(s['unauthorised']) / sum(s['possible']) AS unauthorised_absence_pct,
       100.0 * count(*) FILTER (WHERE is_persistent_absence(s['overall'], s['possible'])) / count(*) AS pa_pct,
       100.0 * count(*) FILTER (WHERE is_severe_absence(s['overall'], s['possible'])) / count(*) AS sa_pct
FROM enrolments e
JOIN schools sc ON sc.urn = e.urn
WHERE s['possible'] > 0
GROUP BY sc.region_code, sc.phase
ORDER BY sc.region_code, sc.phase
