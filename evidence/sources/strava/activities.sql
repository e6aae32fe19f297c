-- One row per activity (marts.fct_activities) in the athlete's units.
select
    activity_id,
    '/activities/' || activity_id || '/' as link,
    name,
    sport_type,
    sport_group,
    sport_label(sport_group) as sport,
    start_at_local,
    local_date,
    local_week,
    local_month,
    local_year,
    dist(distance_km) as distance,
    distance_km,
    moving_time_s,
    elapsed_time_s,
    moving_time_s / 3600.0 as moving_hours,
    dur(moving_time_s) as moving_time,
    dur(elapsed_time_s) as elapsed_time,
    elev(elevation_gain_m) as elevation,
    speed(avg_speed_kmh) as avg_speed,
    speed(max_speed_kmh) as max_speed,
    pace(pace_min_per_km) as pace,
    swim_pace(avg_speed_kmh) as swim_pace,
    speed_kind(sport_group) as speed_kind,
    -- what Strava lists: pace for runs and walks, pace per 100 m (or yd) for swims, speed for
    -- the rest
    case
        when speed_kind(sport_group) = 'pace' and pace_min_per_km > 0 then
            printf(
                '%d:%02d %s',
                cast(round(pace(pace_min_per_km) * 86400) as bigint) // 60,
                cast(round(pace(pace_min_per_km) * 86400) as bigint) % 60,
                case when is_imperial() then '/mi' else '/km' end
            )
        when speed_kind(sport_group) = 'swim_pace' and avg_speed_kmh > 0 then
            printf(
                '%d:%02d %s',
                cast(round(swim_pace(avg_speed_kmh) * 86400) as bigint) // 60,
                cast(round(swim_pace(avg_speed_kmh) * 86400) as bigint) % 60,
                case when is_imperial() then '/100 yd' else '/100 m' end
            )
        when avg_speed_kmh > 0 then
            printf('%.1f %s', speed(avg_speed_kmh), case when is_imperial() then 'mph' else 'km/h' end)
    end as pace_or_speed,
    avg_heartrate,
    max_heartrate,
    cadence_of(avg_cadence, sport_group) as avg_cadence,
    cadence_unit(sport_group) as cadence_unit,
    avg_watts,
    max_watts,
    weighted_avg_watts,
    kilojoules,
    calories,
    suffer_score,
    gear_id,
    gear_name,
    device_name,
    description,
    summary_polyline,
    is_trainer,
    is_commute,
    is_manual,
    is_private,
    visibility,
    kudos_count,
    achievement_count,
    pr_count,
    data_source,
    file_key
from marts.fct_activities
order by start_at_local desc
