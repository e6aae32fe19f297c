with

gear as (

    select * from {{ ref('int_gear') }}

),

activities as (

    select * from {{ ref('int_activities') }}

),

usage as (

    select
        gear_id,
        count(*) as activity_count,
        sum(distance_m) as distance_m,
        cast(sum(moving_time_s) as bigint) as moving_time_s,
        sum(elevation_gain_m) as elevation_gain_m,
        min(cast(start_at_local as date)) as first_used_date,
        max(cast(start_at_local as date)) as last_used_date

    from activities
    where gear_id is not null
    group by gear_id

),

final as (

    select
        gear.gear_id,
        gear.gear_kind,
        gear.gear_name,
        gear.brand_name,
        gear.model_name,
        gear.is_primary,
        gear.is_retired,
        coalesce(usage.activity_count, 0) as activity_count,
        coalesce(usage.distance_m, 0) / 1000.0 as distance_km,
        coalesce(usage.moving_time_s, 0) as moving_time_s,
        coalesce(usage.moving_time_s, 0) / 3600.0 as moving_time_h,
        coalesce(usage.elevation_gain_m, 0) as elevation_gain_m,
        gear.strava_distance_m / 1000.0 as strava_distance_km,
        usage.first_used_date,
        usage.last_used_date

    from gear
    left join usage on gear.gear_id = usage.gear_id

)

select * from final
