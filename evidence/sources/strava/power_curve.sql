-- Mean-maximal power of rides per duration, all-time and per season (marts.rpt_power_curve).
select
    scope,
    season_year,
    duration_s,
    duration_label,
    activity_id,
    '/activities/' || activity_id || '/' as link,
    local_date,
    best_avg_watts as watts,
    best_watts_per_kg as watts_per_kg
from marts.rpt_power_curve
order by scope, duration_s
