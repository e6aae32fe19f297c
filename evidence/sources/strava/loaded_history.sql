-- What the warehouse holds, for the banner on every page (components/LoadedHistory.svelte):
-- the span of loaded days, how many of the history's days are loaded, and which periods are
-- loaded completely (site_status.data_status through the data_status view of initialize.sql).
select
    first_loaded_date,
    last_loaded_date,
    partitions_loaded,
    partitions_total,
    missing_inside_loaded,
    history_start_date,
    expected_completion_date,
    archive_first_day,
    coalesce(ytd_complete, false) as ytd_complete,
    coalesce(last_ytd_complete, false) as last_ytd_complete,
    coalesce(all_complete, false) as all_complete
from data_status
