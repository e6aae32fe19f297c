with

source as (

    select * from {{ raw_source('files', 'activity_laps') }}

),

renamed as (

    select
        cast(activity_id as bigint) as activity_id,
        cast(lap_index as bigint) as lap_index,
        cast(split as bigint) as split,
        cast(name as varchar) as lap_name,
        -- instants with a zone in the file: as UTC wall time, like the API's start_date
        timezone('UTC', cast(start_date as timestamp with time zone)) as start_at_utc,
        cast(elapsed_time as bigint) as elapsed_time_s,
        cast(moving_time as bigint) as moving_time_s,
        cast(distance as double) as distance_m,
        cast(total_elevation_gain as double) as elevation_gain_m,
        cast(average_speed as double) as avg_speed_mps,
        cast(max_speed as double) as max_speed_mps,
        cast(average_cadence as double) as avg_cadence,
        cast(average_heartrate as double) as avg_heartrate,
        cast(max_heartrate as double) as max_heartrate,
        cast(average_watts as double) as avg_watts,
        cast(start_index as bigint) as start_index,
        cast(end_index as bigint) as end_index,
        cast(pace_zone as bigint) as pace_zone

    from source

)

select * from renamed
