with

source as (

    select * from {{ raw_source('files', 'activities') }}

),

renamed as (

    select
        -- ids: Strava's for archive rows, negative and derived from the file for loose files
        cast(activity_id as bigint) as activity_id,
        cast(origin as varchar) as origin,
        cast(file_key as varchar) as file_key,
        cast(file_format as varchar) as file_format,

        -- descriptors (the archive writes '' for an empty field)
        cast(name as varchar) as activity_name,
        cast(sport_type as varchar) as sport_type,
        nullif(cast(description as varchar), '') as description,
        nullif(cast(device_name as varchar), '') as device_name,
        nullif(cast(gear_id as varchar), '') as gear_id,
        nullif(cast(gear_name as varchar), '') as gear_name,

        -- time: UTC (neither the archive nor a file says the athlete's time zone)
        cast(start_date as timestamp) as start_at_utc,

        -- measures, in the units of stg_strava__activities
        cast(distance as double) as distance_m,
        cast(moving_time as bigint) as moving_time_s,
        cast(elapsed_time as bigint) as elapsed_time_s,
        cast(total_elevation_gain as double) as elevation_gain_m,
        cast(average_speed as double) as avg_speed_mps,
        cast(max_speed as double) as max_speed_mps,
        cast(average_heartrate as double) as avg_heartrate,
        cast(max_heartrate as double) as max_heartrate,
        cast(average_cadence as double) as avg_cadence,
        cast(average_watts as double) as avg_watts,
        cast(max_watts as double) as max_watts,
        cast(calories as double) as calories,

        -- route: the file's first and last position and its thinned track (none without GPS)
        cast(start_lat as double) as start_lat,
        cast(start_lng as double) as start_lng,
        cast(end_lat as double) as end_lat,
        cast(end_lng as double) as end_lng,
        nullif(cast(summary_polyline as varchar), '') as summary_polyline,

        -- flags
        coalesce(cast(commute as boolean), false) as is_commute,
        coalesce(cast(trainer as boolean), false) as is_trainer,
        coalesce(cast(manual as boolean), false) as is_manual,
        coalesce(cast(samples as bigint), 0) as sample_count

    from source

)

select * from renamed
