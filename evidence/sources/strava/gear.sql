-- Bikes and shoes with what our activities add up to on them (marts.dim_gear).
select
    gear_id,
    gear_kind,
    gear_name,
    gear_name || case when is_retired then ' (retired)' else '' end as gear_label,
    brand_name,
    model_name,
    is_primary,
    is_retired,
    case when is_retired then 'retired' when is_primary then 'primary' else 'active' end
        as status,
    activity_count,
    dist(distance_km) as distance,
    cast(moving_time_h as double) as moving_hours,
    dur(moving_time_h * 3600) as moving_time,
    elev(elevation_gain_m) as elevation,
    dist(strava_distance_km) as strava_distance,
    first_used_date,
    last_used_date
from marts.dim_gear
order by is_retired, distance_km desc
