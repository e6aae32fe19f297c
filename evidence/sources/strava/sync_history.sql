-- Every load dlt recorded in the warehouse (strava._dlt_loads, through the dlt_loads view of
-- initialize.sql, empty when the table is missing), newest first.
select load_id, status, inserted_at_utc
from dlt_loads
order by inserted_at_utc desc
