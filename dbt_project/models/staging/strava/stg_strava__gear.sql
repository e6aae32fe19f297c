with

source as (

    select * from {{ raw_source('strava', 'gear') }}

),

renamed as (

    select
        cast(id as varchar) as gear_id,
        cast(kind as varchar) as gear_kind,
        cast(name as varchar) as gear_name,
        cast(brand_name as varchar) as brand_name,
        cast(model_name as varchar) as model_name,
        coalesce(cast("primary" as boolean), false) as is_primary,
        coalesce(cast(retired as boolean), false) as is_retired,
        -- Strava's own odometer for the gear, including activities before it was added
        cast(distance as double) as strava_distance_m

    from source

)

select * from renamed
