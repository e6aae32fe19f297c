with

activities as (

    select * from {{ ref('int_activities') }}

),

gear as (

    select * from {{ ref('int_gear') }}

),

final as (

    select
        activities.activity_id,
        activities.activity_name as name,
        activities.sport_type,
        activities.activity_type,
        {{ sport_group('activities.sport_type') }} as sport_group,
        activities.workout_type,

        -- time: local calendar attributes come from the athlete's wall time
        activities.start_at_utc,
        activities.start_at_local,
        activities.timezone_name,
        cast(activities.start_at_local as date) as local_date,
        cast(date_trunc('week', activities.start_at_local) as date) as local_week,
        cast(date_trunc('month', activities.start_at_local) as date) as local_month,
        cast(year(activities.start_at_local) as integer) as local_year,
        cast(isoyear(activities.start_at_local) as integer) as local_iso_year,
        cast(week(activities.start_at_local) as integer) as local_iso_week,

        -- distance, time, elevation
        activities.distance_m,
        activities.distance_m / 1000.0 as distance_km,
        activities.moving_time_s,
        activities.elapsed_time_s,
        activities.moving_time_s / 3600.0 as moving_time_h,
        activities.elevation_gain_m,
        activities.elev_high_m,
        activities.elev_low_m,

        -- speed and pace
        activities.avg_speed_mps,
        activities.max_speed_mps,
        activities.avg_speed_mps * 3.6 as avg_speed_kmh,
        activities.max_speed_mps * 3.6 as max_speed_kmh,
        case
            when {{ sport_group('activities.sport_type') }} in ('run', 'walk_hike')
                and activities.distance_m > 0
                then (activities.moving_time_s / 60.0) / (activities.distance_m / 1000.0)
        end as pace_min_per_km,

        -- heart rate, power, energy
        activities.has_heartrate,
        activities.avg_heartrate,
        activities.max_heartrate,
        activities.avg_cadence,
        activities.has_device_watts,
        activities.avg_watts,
        activities.max_watts,
        activities.weighted_avg_watts,
        activities.kilojoules,
        activities.calories,
        activities.suffer_score,
        activities.perceived_exertion,

        -- gear
        activities.gear_id,
        coalesce(gear.gear_name, activities.imported_gear_name) as gear_name,

        -- flags
        activities.is_trainer,
        activities.is_commute,
        activities.is_manual,
        activities.is_private,
        activities.visibility,

        -- social and misc
        activities.achievement_count,
        activities.kudos_count,
        activities.pr_count,
        activities.device_name,
        activities.description,
        activities.summary_polyline,
        activities.start_lat,
        activities.start_lng,
        activities.end_lat,
        activities.end_lng,

        -- where the activity came from: 'api', 'archive' (export's activities.csv) or 'file'
        activities.data_source,
        activities.file_key

    from activities
    left join gear on activities.gear_id = gear.gear_id

)

select * from final
