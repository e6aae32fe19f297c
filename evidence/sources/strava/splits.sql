-- Splits per km ('metric') and per mile ('standard') (marts.fct_activity_splits).
select
    activity_id,
    units,
    split,
    distance_m,
    dur(moving_time_s) as moving_time,
    elevation_difference_m * (case when units = 'standard' then 3.280839895 else 1.0 end)
        as elevation_difference,
    avg_speed_kmh * (case when units = 'standard' then 1 / 1.609344 else 1.0 end) as avg_speed,
    pace_min_per_km * (case when units = 'standard' then 1.609344 else 1.0 end) / 1440.0
        as pace,
    grade_adjusted_pace_min_per_km * (case when units = 'standard' then 1.609344 else 1.0 end)
        / 1440.0 as grade_adjusted_pace,
    avg_heartrate,
    pace_zone
from marts.fct_activity_splits
order by activity_id, units, split
