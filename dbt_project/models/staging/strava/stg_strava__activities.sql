with

source as (

    select * from {{ raw_source('strava', 'activities') }}

),

renamed as (

    select
        -- ids
        cast(id as bigint) as activity_id,
        cast(athlete_id as bigint) as athlete_id,
        cast(gear_id as varchar) as gear_id,
        cast(upload_id as bigint) as upload_id,
        cast(external_id as varchar) as external_id,

        -- descriptors
        cast(name as varchar) as activity_name,
        cast(sport_type as varchar) as sport_type,
        cast(type as varchar) as activity_type,
        cast(workout_type as bigint) as workout_type,
        cast(visibility as varchar) as visibility,

        -- time: start_date is UTC; start_date_local is the athlete's wall time (Strava writes a
        -- `Z` on it too, but it is not UTC)
        cast(start_date as timestamp) as start_at_utc,
        cast(start_date_local as timestamp) as start_at_local,
        cast(timezone as varchar) as timezone,
        nullif(regexp_extract(cast(timezone as varchar), '\)\s*(.+)$', 1), '') as timezone_name,
        cast(utc_offset as double) as utc_offset_s,

        -- measures, Strava's units made explicit
        cast(distance as double) as distance_m,
        cast(moving_time as bigint) as moving_time_s,
        cast(elapsed_time as bigint) as elapsed_time_s,
        cast(total_elevation_gain as double) as elevation_gain_m,
        cast(elev_high as double) as elev_high_m,
        cast(elev_low as double) as elev_low_m,
        cast(average_speed as double) as avg_speed_mps,
        cast(max_speed as double) as max_speed_mps,
        cast(average_heartrate as double) as avg_heartrate,
        cast(max_heartrate as double) as max_heartrate,
        cast(average_cadence as double) as avg_cadence,
        cast(average_watts as double) as avg_watts,
        cast(max_watts as double) as max_watts,
        cast(weighted_average_watts as double) as weighted_avg_watts,
        cast(kilojoules as double) as kilojoules,
        cast(suffer_score as double) as suffer_score,
        cast(achievement_count as bigint) as achievement_count,
        cast(kudos_count as bigint) as kudos_count,
        cast(pr_count as bigint) as pr_count,

        -- location
        cast(map_summary_polyline as varchar) as summary_polyline,
        cast(start_lat as double) as start_lat,
        cast(start_lng as double) as start_lng,
        cast(end_lat as double) as end_lat,
        cast(end_lng as double) as end_lng,

        -- flags
        coalesce(cast(device_watts as boolean), false) as has_device_watts,
        coalesce(cast(has_heartrate as boolean), false) as has_heartrate,
        coalesce(cast(trainer as boolean), false) as is_trainer,
        coalesce(cast(commute as boolean), false) as is_commute,
        coalesce(cast(manual as boolean), false) as is_manual,
        coalesce(cast(private as boolean), false) as is_private

    from source
    -- activities deleted on Strava stay in the raw table, flagged
    where not coalesce(cast(is_deleted as boolean), false)

)

select * from renamed
