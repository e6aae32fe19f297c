{#
    Laps: the API's where Strava's detail has them, else the laps of the activity's file
    (int_activity_files) under the id it is shown with. File laps get a stable synthetic id
    (negative, from the activity id and lap index) and local start times by the activity's
    UTC offset.
#}

with

api_laps as (

    select * from {{ ref('stg_strava__activity_laps') }}

),

activities as (

    select activity_id, start_at_utc, start_at_local from {{ ref('int_activities') }}

),

file_laps as (

    select
        {{ synthetic_id("activity_files.activity_id", "'lap'", "laps.lap_index") }} as lap_id,
        activity_files.activity_id,
        laps.lap_index,
        laps.split,
        laps.lap_name,
        laps.start_at_utc,
        laps.start_at_utc + (activities.start_at_local - activities.start_at_utc)
            as start_at_local,
        laps.elapsed_time_s,
        laps.moving_time_s,
        laps.distance_m,
        laps.elevation_gain_m,
        laps.avg_speed_mps,
        laps.max_speed_mps,
        laps.avg_cadence,
        laps.avg_heartrate,
        laps.max_heartrate,
        laps.avg_watts,
        laps.start_index,
        laps.end_index,
        laps.pace_zone

    from {{ ref('stg_files__activity_laps') }} as laps
    inner join {{ ref('int_activity_files') }} as activity_files
        on laps.activity_id = activity_files.file_activity_id
    inner join activities on activity_files.activity_id = activities.activity_id
    where activity_files.activity_id not in (select activity_id from api_laps)

),

final as (

    select *, 'api' as data_source from api_laps
    union all by name
    select *, 'file' as data_source from file_laps

)

select * from final
