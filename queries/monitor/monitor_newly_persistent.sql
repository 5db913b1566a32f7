-- The pupils persistently absent now (severe included) and not at the end of the week --weeks
-- reported weeks earlier (DOMAIN.md section 8), in the columns of pupils.csv.
CREATE OR REPLACE VIEW monitor_newly_persistent AS
SELECT * FROM monitor_pupils WHERE newly_persistent
