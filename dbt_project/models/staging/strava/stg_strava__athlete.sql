with

source as (

    select * from {{ raw_source('strava', 'athlete') }}

),

renamed as (

    select
        cast(id as bigint) as athlete_id,
        cast(username as varchar) as username,
        cast(firstname as varchar) as first_name,
        cast(lastname as varchar) as last_name,
        cast(city as varchar) as city,
        cast(state as varchar) as state,
        cast(country as varchar) as country,
        cast(sex as varchar) as sex,
        cast(created_at as timestamp) as created_at_utc,
        cast(updated_at as timestamp) as updated_at_utc,
        cast(weight as double) as weight_kg,
        cast(ftp as bigint) as ftp_watts,
        cast(measurement_preference as varchar) as measurement_preference

    from source

)

select * from renamed
