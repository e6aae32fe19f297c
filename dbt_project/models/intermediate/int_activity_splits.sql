{#
    Metric and mile splits: the API's where Strava's detail has them, else the splits computed
    from the activity's file (int_activity_files) under the id it is shown with.
#}

with

api_splits as (

    select * from {{ ref('stg_strava__activity_splits') }}

),

file_splits as (

    select
        activity_files.activity_id,
        splits.* exclude (activity_id)

    from {{ ref('stg_files__activity_splits') }} as splits
    inner join {{ ref('int_activity_files') }} as activity_files
        on splits.activity_id = activity_files.file_activity_id
    where activity_files.activity_id not in (select activity_id from api_splits)

),

final as (

    select *, 'api' as data_source from api_splits
    union all by name
    select *, 'file' as data_source from file_splits

)

select * from final
