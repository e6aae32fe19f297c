with

laps as (

    select * from {{ ref('int_activity_laps') }}

),

activities as (

    select activity_id, sport_group, local_date from {{ ref('fct_activities') }}

),

final as (

    select
        laps.lap_id,
        laps.activity_id,
        activities.sport_group,
        activities.local_date,
        laps.lap_index,
        laps.lap_name,
        laps.start_at_utc,
        laps.start_at_local,
        laps.distance_m,
        laps.distance_m / 1000.0 as distance_km,
        laps.moving_time_s,
        laps.elapsed_time_s,
        laps.elevation_gain_m,
        laps.avg_speed_mps * 3.6 as avg_speed_kmh,
        laps.max_speed_mps * 3.6 as max_speed_kmh,
        case
            when laps.distance_m > 0
                then (laps.moving_time_s / 60.0) / (laps.distance_m / 1000.0)
        end as pace_min_per_km,
        laps.avg_heartrate,
        laps.max_heartrate,
        laps.avg_cadence,
        laps.avg_watts,
        laps.pace_zone

    from laps
    inner join activities on laps.activity_id = activities.activity_id

)

select * from final
