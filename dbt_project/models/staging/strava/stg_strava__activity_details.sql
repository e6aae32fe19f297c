with

source as (

    select * from {{ raw_source('strava', 'activity_details') }}

),

renamed as (

    select
        cast(id as bigint) as activity_id,
        cast(description as varchar) as description,
        cast(calories as double) as calories,
        cast(device_name as varchar) as device_name,
        cast(map_polyline as varchar) as polyline,
        cast(perceived_exertion as double) as perceived_exertion

    from source

)

select * from renamed
