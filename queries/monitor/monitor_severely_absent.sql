-- The pupils severely absent (50% or more of possible sessions missed) (DOMAIN.md section 8), in
-- the columns of pupils.csv.
CREATE OR REPLACE VIEW monitor_severely_absent AS
SELECT * FROM monitor_pupils WHERE status = 'severely absent'
