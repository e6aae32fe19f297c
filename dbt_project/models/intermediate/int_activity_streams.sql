{{ config(materialized='ephemeral') }}

{#
    Stream samples of every activity under the id it is shown with: the original file's samples
    where the activity has a file (int_activity_files; a loose file's samples move to the Strava
    activity it matched), else the API's streams. Ephemeral: compiled into
    fct_activity_stream_samples, whose run-window filter applies to the id shown.
#}

with

activity_files as (

    select * from {{ ref('int_activity_files') }}

),

file_samples as (

    select
        activity_files.activity_id,
        samples.* exclude (activity_id)

    from {{ ref('stg_files__activity_streams') }} as samples
    inner join activity_files on samples.activity_id = activity_files.file_activity_id

),

api_samples as (

    select * from {{ ref('stg_strava__activity_streams') }}
    where activity_id not in (select activity_id from activity_files)

),

final as (

    select * from file_samples
    union all by name
    select * from api_samples

)

select * from final
