-- Laps of every activity (marts.fct_activity_laps).
select
    activity_id,
    lap_index,
    lap_name,
    dist(distance_km) as distance,
    dur(moving_time_s) as moving_time,
    dur(elapsed_time_s) as elapsed_time,
    elev(elevation_gain_m) as elevation,
    speed(avg_speed_kmh) as avg_speed,
    pace(pace_min_per_km) as pace,
    swim_pace(avg_speed_kmh) as swim_pace,
    avg_heartrate,
    max_heartrate,
    cadence_of(avg_cadence, sport_group) as avg_cadence,
    avg_watts
from marts.fct_activity_laps
order by activity_id, lap_index
