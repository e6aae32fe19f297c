-- What the warehouse holds: date range, activities, where they came from (the API, the export
-- archive, device files), and how many have their details and streams
-- (marts.fct_activities, marts.fct_activity_stream_metrics, marts.dim_calendar).
select
    min(a.local_date) as first_date,
    max(a.local_date) as last_date,
    count(*) as activities,
    count(*) filter (where not a.is_manual) as recorded_activities,
    count(m.activity_id) as activities_with_streams,
    count(*) filter (where not a.is_manual and m.activity_id is null) as activities_without_streams,
    count(*) filter (where a.is_manual) as manual_activities,
    count(*) filter (where a.data_source = 'api') as api_activities,
    count(*) filter (where a.data_source = 'archive') as archive_activities,
    count(*) filter (where a.data_source = 'file') as file_activities,
    count(distinct a.local_date) as active_days,
    (select count(*) from marts.dim_calendar) as calendar_days,
    max(a.start_at_utc) as latest_start_utc
from marts.fct_activities as a
left join marts.fct_activity_stream_metrics as m using (activity_id)
