-- What the 1 Hz streams say about each activity (marts.fct_activity_stream_metrics).
select
    activity_id,
    sample_count,
    has_latlng,
    has_heartrate_stream,
    has_power_stream,
    normalized_power_w,
    cadence_of(avg_cadence, sport_group) as avg_cadence,
    variability_index,
    aerobic_decoupling_pct / 100.0 as aerobic_decoupling,
    avg_temperature_c,
    speed(max_speed_kmh) as max_speed,
    elev(ascent_m) as ascent,
    elev(descent_m) as descent,
    elev(min_altitude_m) as min_altitude,
    elev(max_altitude_m) as max_altitude
from marts.fct_activity_stream_metrics
-- the sport decides how cadence reads (see initialize.sql)
left join (select activity_id, sport_group from marts.fct_activities) using (activity_id)
