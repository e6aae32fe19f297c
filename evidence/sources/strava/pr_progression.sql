-- Personal-record progression per effort: each effort that beat all earlier ones
-- (marts.rpt_best_effort_prs).
select
    best_effort_id,
    activity_id,
    '/activities/' || activity_id || '/' as link,
    effort_name,
    distance_m,
    local_date,
    elapsed_time_s,
    dur(elapsed_time_s) as elapsed_time,
    pace(pace_min_per_km) as pace,
    dur(improvement_s) as improvement,
    pr_number,
    is_current_pr
from marts.rpt_best_effort_prs
order by distance_m, local_date
