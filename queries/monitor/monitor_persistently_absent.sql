-- The pupils persistently absent and not severely (10% to under 50% missed) (DOMAIN.md section 8),
-- in the columns of pupils.csv.
CREATE OR REPLACE VIEW monitor_persistently_absent AS
SELECT * FROM monitor_pupils WHERE status = 'persistently absent'
