with

source as (

    select * from {{ raw_source('files', 'activity_best_efforts') }}

),

renamed as (

    select
        cast(activity_id as bigint) as activity_id,
        cast(name as varchar) as effort_name,
        cast(distance as double) as distance_m,
        cast(elapsed_time as bigint) as elapsed_time_s,
        cast(moving_time as bigint) as moving_time_s,
        cast(start_index as bigint) as start_index,
        cast(end_index as bigint) as end_index

    from source

)

select * from renamed
