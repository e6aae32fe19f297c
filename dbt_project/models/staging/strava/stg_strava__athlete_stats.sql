with

source as (

    select * from {{ raw_source('strava', 'athlete_stats') }}

),

renamed as (

    select
        cast(period as varchar) as period,
        cast(sport as varchar) as sport,
        cast("count" as bigint) as activity_count,
        cast(distance as double) as distance_m,
        cast(moving_time as bigint) as moving_time_s,
        cast(elapsed_time as bigint) as elapsed_time_s,
        cast(elevation_gain as double) as elevation_gain_m,
        -- when dlt loaded the stats: Strava's year-to-date is measured at that moment
        cast(to_timestamp(cast(_dlt_load_id as double)) as timestamp) as loaded_at_utc

    from source

)

select * from renamed
