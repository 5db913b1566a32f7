-- W8: one pupil's marks for the autumn term. `${urn}` and `${pupil_id}` are replaced by the
-- benchmark with an enrolment of the data set.
SELECT date, session, code, attendance_category(code) AS category, absence_reason(code) AS reason
FROM registers
WHERE urn = ${urn} AND pupil_id = '${pupil_id}'
  AND date BETWEEN DATE '2024-09-01' AND DATE '2024-12-31'
ORDER BY date, session
