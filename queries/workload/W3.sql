-- W3: the W1 headline by local authority x phase (the LA of `schools`, as in W2).
WITH enrolments AS (
    SELECT urn, pupil_id, session_counts(code) AS s
    FROM registers
    WHERE academic_year = '2024-25'
    GROUP BY urn, pupil_id
)
SELECT sc.old_la_code AS la_code, sc.la_name, sc.phase,
       sum(s['possible']) AS possible_sessions,
       100.0 * sum(s['overall']) / sum(s['possible']) AS overall_absence_pct,
       100.0 * sum(s['authorised']) / sum(s['possible']) AS authorised_absence_pct,
       100.0 * sum(s['unauthorised']) / sum(s['possible']) AS unauthorised_absence_pct,
       100.0 * count(*) FILTER (WHERE is_persistent_absence(s['overall'], s['possible'])) / count(*) AS pa_pct,
       100.0 * count(*) FILTER (WHERE is_severe_absence(s['overall'], s['possible'])) / count(*) AS sa_pct
FROM enrolments e
JOIN schools sc ON sc.urn = e.urn
WHERE s['possible'] > 0
GROUP BY sc.old_la_code, sc.la_name, sc.phase
ORDER BY la_code, sc.phase
