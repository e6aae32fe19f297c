-- Best average power and pace per duration within each activity (marts.fct_activity_mean_max).
select
    activity_id,
    duration_s,
    case when duration_s < 60 then duration_s || ' s' else (duration_s // 60) || ' min' end
        as duration_label,
    best_avg_watts as watts,
    speed(best_speed_kmh) as speed,
    pace(best_pace_min_per_km) as pace
from marts.fct_activity_mean_max
order by activity_id, duration_s
