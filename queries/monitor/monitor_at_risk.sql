-- The pupils at risk (5% to under 10% missed) (DOMAIN.md section 8), in the columns of pupils.csv.
CREATE OR REPLACE VIEW monitor_at_risk AS
SELECT * FROM monitor_pupils WHERE status = 'at risk'
