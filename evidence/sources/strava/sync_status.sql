-- Partitions, request budget and backfill progress (site_status.data_status through the
-- data_status view of initialize.sql; no rows until the pipeline exports it).
select
    history_start_date,
    partitions_total,
    partitions_loaded,
    partitions_missing,
    partitions_loaded * 1.0 / nullif(partitions_total, 0) as loaded_share,
    last_sync_at_utc,
    requests_used_today,
    daily_request_limit,
    daily_request_limit - requests_used_today as requests_left_today,
    backfill_days_remaining,
    expected_completion_date
from data_status
