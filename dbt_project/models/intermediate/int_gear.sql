{#
    Bikes and shoes: the API's gear, plus the export archive's bikes.csv / shoes.csv gear the API
    does not have (matched by name, the only key the archive gives). Archive gear takes the id
    activities.csv gives its activities (`Bike` / `Gear`, e.g. b8939761: the API's id), so
    activities and gear join the same way whichever source they came from.
#}

with

api_gear as (

    select * from {{ ref('stg_strava__gear') }}

),

archive_gear as (

    select * from {{ ref('stg_files__gear') }}

),

archive_ids as (

    -- the id activities.csv uses for a gear name (the most used one, should names repeat)
    select gear_name, mode(gear_id) as gear_id
    from {{ ref('stg_files__activities') }}
    where origin = 'archive' and gear_name is not null and gear_id is not null
    group by gear_name

),

archive_only as (

    select
        coalesce(archive_ids.gear_id, archive_gear.archive_gear_key) as gear_id,
        archive_gear.gear_kind,
        archive_gear.gear_name,
        archive_gear.brand_name,
        archive_gear.model_name,
        false as is_primary,
        false as is_retired,
        cast(null as double) as strava_distance_m,
        'archive' as data_source

    from archive_gear
    left join archive_ids on archive_gear.gear_name = archive_ids.gear_name
    where archive_gear.gear_name not in (select gear_name from api_gear where gear_name is not null)
        and coalesce(archive_ids.gear_id, archive_gear.archive_gear_key)
            not in (select gear_id from api_gear)

),

final as (

    select
        gear_id,
        gear_kind,
        gear_name,
        brand_name,
        model_name,
        is_primary,
        is_retired,
        strava_distance_m,
        'api' as data_source

    from api_gear

    union all

    select * from archive_only

)

select * from final
