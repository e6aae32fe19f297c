with

splits as (

    select * from {{ ref('int_activity_splits') }}

),

activities as (

    select activity_id, sport_group, local_date from {{ ref('fct_activities') }}

),

final as (

    select
        splits.activity_id,
        splits.units,
        splits.split,
        activities.sport_group,
        activities.local_date,
        splits.distance_m,
        splits.moving_time_s,
        splits.elapsed_time_s,
        splits.elevation_difference_m,
        splits.avg_speed_mps * 3.6 as avg_speed_kmh,
        case
            when splits.distance_m > 0
                then (splits.moving_time_s / 60.0) / (splits.distance_m / 1000.0)
        end as pace_min_per_km,
        case
            when splits.avg_grade_adjusted_speed_mps > 0
                then 1000.0 / splits.avg_grade_adjusted_speed_mps / 60.0
        end as grade_adjusted_pace_min_per_km,
        splits.avg_heartrate,
        splits.pace_zone

    from splits
    inner join activities on splits.activity_id = activities.activity_id

)

select * from final
