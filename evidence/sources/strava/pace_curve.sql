-- Mean-maximal pace of runs per duration, all-time and per season (marts.rpt_pace_curve).
select
    scope,
    season_year,
    duration_s,
    duration_label,
    activity_id,
    '/activities/' || activity_id || '/' as link,
    local_date,
    speed(best_speed_kmh) as speed,
    pace(best_pace_min_per_km) as pace
from marts.rpt_pace_curve
order by scope, duration_s
