with

source as (

    select * from {{ raw_source('strava', 'athlete_zones') }}

),

renamed as (

    select
        cast(zone_type as varchar) as zone_type,
        cast(zone as bigint) as zone,
        cast("min" as bigint) as zone_min,
        -- Strava's -1 ("no upper bound") as NULL
        nullif(cast("max" as bigint), -1) as zone_max

    from source

)

select * from renamed
