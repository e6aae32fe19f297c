with

efforts as (

    select * from {{ ref('int_activity_best_efforts') }}

),

activities as (

    select activity_id, sport_type, local_date, local_year from {{ ref('fct_activities') }}

),

final as (

    select
        efforts.best_effort_id,
        efforts.activity_id,
        efforts.effort_name,
        efforts.distance_m,
        activities.sport_type,
        activities.local_date,
        activities.local_year,
        efforts.start_at_utc,
        efforts.start_at_local,
        efforts.elapsed_time_s,
        efforts.moving_time_s,
        (efforts.elapsed_time_s / 60.0) / nullif(efforts.distance_m / 1000.0, 0)
            as pace_min_per_km,
        efforts.pr_rank

    from efforts
    inner join activities on efforts.activity_id = activities.activity_id

)

select * from final
