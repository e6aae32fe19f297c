-- Per month: activities, and how many of them have streams, to spot gaps in the history
-- (marts.fct_activities, marts.fct_activity_stream_metrics).
select
    a.local_month,
    count(*) as activities,
    count(m.activity_id) as with_streams,
    count(*) filter (where not a.is_manual and m.activity_id is null) as missing_streams
from marts.fct_activities as a
left join marts.fct_activity_stream_metrics as m using (activity_id)
group by a.local_month
order by a.local_month
