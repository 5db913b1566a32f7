-- W1: England headline for the year, straight from `registers`: possible sessions, overall /
-- authorised / unauthorised absence %, persistent (PA) and severe (SA) absence % of enrolments.
-- Sums are taken per enrolment (pupil at a school) first; rates are ratios of sums.
WITH enrolments AS (
    SELECT urn, pupil_id, session_counts(code) AS s
    FROM registers
    WHERE academic_year = '2024-25'
    GROUP BY urn, pupil_id
)
SELECT sum(s['possible']) AS possible_sessions,
       100.0 * sum(s['overall']) / sum(s['possible']) AS overall_absence_pct,
       100.0 * sum(s['authorised']) / sum(s['possible']) AS authorised_absence_pct,
       100.0 * sum(s['unauthorised']) / sum(s['possible']) AS unauthorised_absence_pct,
       100.0 * count(*) FILTER (WHERE is_persistent_absence(s['overall'], s['possible'])) / count(*) AS pa_pct,
       100.0 * count(*) FILTER (WHERE is_severe_absence(s['overall'], s['possible'])) / count(*) AS sa_pct
FROM enrolments
WHERE s['possible'] > 0
