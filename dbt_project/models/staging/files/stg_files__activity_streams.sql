{{ config(materialized='ephemeral') }}

{#- Ephemeral like stg_strava__activity_streams: compiled into the per-sample fact. -#}
with

source as (

    select * from {{ raw_source('files', 'activity_streams') }}

),

renamed as (

    select
        cast(activity_id as bigint) as activity_id,
        cast(sample_index as bigint) as sample_index,
        cast("time" as bigint) as elapsed_s,
        cast(distance as double) as distance_m,
        cast(lat as double) as lat,
        cast(lng as double) as lng,
        cast(altitude as double) as altitude_m,
        cast(velocity_smooth as double) as speed_mps,
        cast(heartrate as bigint) as heartrate_bpm,
        cast(cadence as bigint) as cadence_rpm,
        cast(watts as bigint) as watts,
        cast(temp as bigint) as temperature_c,
        cast(moving as boolean) as is_moving,
        cast(grade_smooth as double) as grade_pct

    from source

)

select * from renamed
