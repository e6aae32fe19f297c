-- Splits per km ('metric') and per mile ('standard') (marts.fct_activity_splits).
select
    activity_id,
    units,
    split,
    distance_m,
    -- in the split's own units (km or miles), whatever the athlete prefers
    dist_in(distance_m / 1000.0, units = 'standard') as split_distance,
    dur(moving_time_s) as moving_time,
    elev_in(elevation_difference_m, units = 'standard') as elevation_difference,
    speed_in(avg_speed_kmh, units = 'standard') as avg_speed,
    pace_in(pace_min_per_km, units = 'standard') as pace,
    pace_in(grade_adjusted_pace_min_per_km, units = 'standard') as grade_adjusted_pace,
    avg_heartrate,
    pace_zone
from marts.fct_activity_splits
order by activity_id, units, split
