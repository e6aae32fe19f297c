{#
    Loose device files (no Strava id inside) matched to the Strava activity they recorded, so an
    activity that is both on Strava and in the import folder is counted once. A file matches a
    Strava activity (known from the API or from the export archive) that started within 60 s of
    it and has the same sport group; of several, the nearest start (then the lower id). A file
    that does not say its sport (a GPX without <type>, a FIT 'generic' or 'training' session)
    matches any sport: Strava's own choice of sport is the one kept.
#}

with

loose_files as (

    select
        activity_id,
        start_at_utc,
        {{ sport_group('sport_type') }} as sport_group,
        coalesce(sport_type, 'Workout') = 'Workout' as sport_unknown

    from {{ ref('stg_files__activities') }}
    where origin = 'file'

),

api_activities as (

    select activity_id, start_at_utc, sport_type from {{ ref('stg_strava__activities') }}

),

archive_only as (

    select archive.activity_id, archive.start_at_utc, archive.sport_type
    from {{ ref('stg_files__activities') }} as archive
    where archive.origin = 'archive'
        and archive.activity_id not in (select activity_id from api_activities)

),

strava_activities as (

    select activity_id, start_at_utc, {{ sport_group('sport_type') }} as sport_group
    from (select * from api_activities union all select * from archive_only)

),

candidates as (

    select
        loose_files.activity_id as file_activity_id,
        strava_activities.activity_id,
        strava_activities.start_at_utc,
        abs(epoch(loose_files.start_at_utc) - epoch(strava_activities.start_at_utc))
            as start_gap_s

    from loose_files
    inner join strava_activities
        on (loose_files.sport_unknown or strava_activities.sport_group = loose_files.sport_group)
        and strava_activities.start_at_utc
            between loose_files.start_at_utc - interval 60 second
            and loose_files.start_at_utc + interval 60 second

),

nearest as (

    select
        *,
        row_number() over (
            partition by file_activity_id order by start_gap_s, activity_id
        ) as nearness

    from candidates

),

final as (

    select file_activity_id, activity_id, start_at_utc, start_gap_s
    from nearest
    where nearness = 1

)

select * from final
