-- Every best effort Strava found inside a run (marts.fct_best_efforts), fastest first.
select
    best_effort_id,
    activity_id,
    '/activities/' || activity_id || '/' as link,
    effort_name,
    distance_m,
    local_date,
    local_year,
    elapsed_time_s,
    dur(elapsed_time_s) as elapsed_time,
    pace(pace_min_per_km) as pace,
    pr_rank
from marts.fct_best_efforts
order by distance_m, elapsed_time_s
