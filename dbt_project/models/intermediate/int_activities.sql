{#- One row per activity however it arrived; the precedence rule is in _intermediate__models.yml. -#}

with

api as (

    select * from {{ ref('stg_strava__activities') }}

),

details as (

    select * from {{ ref('stg_strava__activity_details') }}

),

imported as (

    select * from {{ ref('stg_files__activities') }}

),

archive_columns as (

    select * from {{ ref('stg_files__archive_activities') }}

),

matches as (

    select * from {{ ref('int_file_activity_matches') }}

),

activity_files as (

    select
        activity_files.activity_id,
        activity_files.file_key,
        imported.device_name,
        imported.start_lat,
        imported.start_lng,
        imported.end_lat,
        imported.end_lng,
        imported.summary_polyline

    from {{ ref('int_activity_files') }} as activity_files
    inner join imported on activity_files.file_activity_id = imported.activity_id

),

gear_by_name as (

    select gear_name, min(gear_id) as gear_id from {{ ref('int_gear') }} group by gear_name

),

deleted_on_strava as (

    select activity_id from {{ ref('stg_strava__deleted_activities') }}

),

archive as (

    select * from imported where origin = 'archive'

),

api_rows as (

    select
        api.*,
        coalesce(details.description, archive.description) as description,
        coalesce(details.calories, archive.calories) as calories,
        coalesce(details.device_name, activity_files.device_name) as device_name,
        details.polyline,
        coalesce(details.perceived_exertion, archive_columns.perceived_exertion)
            as perceived_exertion,
        activity_files.file_key,
        'api' as data_source

    from api
    left join details on api.activity_id = details.activity_id
    left join archive on api.activity_id = archive.activity_id
    left join archive_columns on api.activity_id = archive_columns.activity_id
    left join activity_files on api.activity_id = activity_files.activity_id

),

-- archive rows the API has not listed, and loose files that matched no Strava activity
imported_rows as (

    select
        imported.*,
        case when imported.origin = 'archive' then 'archive' else 'file' end as data_source

    from imported
    where (
            imported.origin = 'archive'
            and imported.activity_id not in (select activity_id from api)
            -- deleted on Strava after the export: gone as it is from Strava
            and imported.activity_id not in (select activity_id from deleted_on_strava)
        )
        or (
            imported.origin = 'file'
            and imported.activity_id not in (select file_activity_id from matches)
        )

),

zones as (

    select start_at_utc, timezone_name from api where timezone_name is not null

),

-- Neither the archive nor a file says where the athlete was: the zone of the athlete's latest
-- API activity before it (else the first one after, else var default_timezone).
zoned as (

    select
        imported_rows.*,
        coalesce(
            earlier.timezone_name,
            (select arg_min(timezone_name, start_at_utc) from zones),
            '{{ var("default_timezone") }}'
        ) as zone_name

    from imported_rows
    asof left join zones as earlier on imported_rows.start_at_utc >= earlier.start_at_utc

),

imported_final as (

    select
        zoned.activity_id,
        cast(null as bigint) as athlete_id,
        coalesce(zoned.gear_id, gear_by_name.gear_id) as gear_id,
        -- the archive names gear it may not list in bikes.csv / shoes.csv
        zoned.gear_name as imported_gear_name,
        cast(null as bigint) as upload_id,
        cast(null as varchar) as external_id,
        zoned.activity_name,
        zoned.sport_type,
        {{ legacy_activity_type('zoned.sport_type') }} as activity_type,
        cast(null as bigint) as workout_type,
        cast(null as varchar) as visibility,
        zoned.start_at_utc,
        timezone(zoned.zone_name, timezone('UTC', zoned.start_at_utc)) as start_at_local,
        cast(null as varchar) as timezone,
        zoned.zone_name as timezone_name,
        epoch(timezone(zoned.zone_name, timezone('UTC', zoned.start_at_utc)))
            - epoch(zoned.start_at_utc) as utc_offset_s,
        zoned.distance_m,
        zoned.moving_time_s,
        zoned.elapsed_time_s,
        zoned.elevation_gain_m,
        archive_columns.elev_high_m,
        archive_columns.elev_low_m,
        zoned.avg_speed_mps,
        zoned.max_speed_mps,
        zoned.avg_heartrate,
        zoned.max_heartrate,
        zoned.avg_cadence,
        zoned.avg_watts,
        zoned.max_watts,
        archive_columns.weighted_avg_watts,
        cast(null as double) as kilojoules,
        archive_columns.suffer_score,
        cast(null as bigint) as achievement_count,
        cast(null as bigint) as kudos_count,
        cast(null as bigint) as pr_count,
        -- an archive row's own file, else the loose file matched to it (int_activity_files)
        coalesce(zoned.summary_polyline, activity_files.summary_polyline) as summary_polyline,
        coalesce(zoned.start_lat, activity_files.start_lat) as start_lat,
        coalesce(zoned.start_lng, activity_files.start_lng) as start_lng,
        coalesce(zoned.end_lat, activity_files.end_lat) as end_lat,
        coalesce(zoned.end_lng, activity_files.end_lng) as end_lng,
        -- power in a file is measured; the archive does not say
        zoned.avg_watts is not null and zoned.origin = 'file' as has_device_watts,
        zoned.avg_heartrate is not null as has_heartrate,
        zoned.is_trainer,
        zoned.is_commute,
        zoned.is_manual,
        false as is_private,
        zoned.description,
        zoned.calories,
        coalesce(activity_files.device_name, zoned.device_name) as device_name,
        cast(null as varchar) as polyline,
        archive_columns.perceived_exertion,
        activity_files.file_key,
        zoned.data_source

    from zoned
    left join archive_columns on zoned.activity_id = archive_columns.activity_id
    left join activity_files on zoned.activity_id = activity_files.activity_id
    left join gear_by_name
        on zoned.gear_id is null and zoned.gear_name = gear_by_name.gear_name

),

final as (

    select * from api_rows
    union all by name
    select * from imported_final

)

select * from final
