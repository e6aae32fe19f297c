with

source as (

    select * from {{ raw_source('strava', 'activity_splits') }}

),

renamed as (

    select
        cast(activity_id as bigint) as activity_id,
        -- 'metric' splits are per km, 'standard' splits per mile
        cast(units as varchar) as units,
        cast(split as bigint) as split,
        cast(distance as double) as distance_m,
        cast(elapsed_time as bigint) as elapsed_time_s,
        cast(moving_time as bigint) as moving_time_s,
        cast(elevation_difference as double) as elevation_difference_m,
        cast(average_speed as double) as avg_speed_mps,
        cast(average_grade_adjusted_speed as double) as avg_grade_adjusted_speed_mps,
        cast(average_heartrate as double) as avg_heartrate,
        cast(pace_zone as bigint) as pace_zone

    from source

)

select * from renamed
