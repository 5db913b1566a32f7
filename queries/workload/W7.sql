-- W7: one school, one half term (autumn 1: September and October): daily attendance %.
-- `${urn}` is replaced by the benchmark with a school of the data set.
SELECT date,
       100.0 * count(*) FILTER (WHERE is_attendance(code))
             / count(*) FILTER (WHERE is_possible_session(code)) AS attendance_pct
FROM registers
WHERE urn = ${urn} AND date BETWEEN DATE '2024-09-01' AND DATE '2024-10-25'
GROUP BY date
ORDER BY date
