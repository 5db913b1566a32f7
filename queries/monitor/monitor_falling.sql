-- The pupils whose attendance over the last --weeks reported weeks is at least 5 percentage points
-- below their attendance before (DOMAIN.md section 8), in the columns of pupils.csv.
CREATE OR REPLACE VIEW monitor_falling AS
SELECT * FROM monitor_pupils WHERE falling
