-- Every pupil list of a monitoring report (DOMAIN.md section 8) in one view: a row per pupil
-- per list it is on (`list`, in the order `list_order` of the report), in the columns of
-- pupils.csv.
CREATE OR REPLACE VIEW monitor_lists AS
SELECT 'severely absent' AS list, 1 AS list_order, * FROM monitor_severely_absent
UNION ALL
SELECT 'persistently absent', 2, * FROM monitor_persistently_absent
UNION ALL
SELECT 'newly persistently absent', 3, * FROM monitor_newly_persistent
UNION ALL
SELECT 'at risk', 4, * FROM monitor_at_risk
UNION ALL
SELECT 'falling', 5, * FROM monitor_falling
