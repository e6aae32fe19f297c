{#
    Best efforts: the API's where Strava's detail has them, else those computed from the
    activity's file (int_activity_files). File efforts get a stable synthetic id, their start
    from the sample they start at, and no PR rank (the marts rank them).
#}

with

api_efforts as (

    select * from {{ ref('stg_strava__activity_best_efforts') }}

),

activities as (

    select activity_id, start_at_utc, start_at_local from {{ ref('int_activities') }}

),

file_efforts as (

    select
        efforts.*,
        activity_files.activity_id as shown_activity_id

    from {{ ref('stg_files__activity_best_efforts') }} as efforts
    inner join {{ ref('int_activity_files') }} as activity_files
        on efforts.activity_id = activity_files.file_activity_id
    where activity_files.activity_id not in (select activity_id from api_efforts)

),

effort_starts as (

    -- distinct: two efforts may start at the same sample (a 1K inside the fastest 2 miles)
    select distinct file_efforts.activity_id, file_efforts.start_index, samples.elapsed_s
    from file_efforts
    inner join {{ ref('stg_files__activity_streams') }} as samples
        on file_efforts.activity_id = samples.activity_id
        and file_efforts.start_index = samples.sample_index

),

file_rows as (

    select
        {{ synthetic_id("file_efforts.shown_activity_id", "'best_effort'", "file_efforts.effort_name") }}
            as best_effort_id,
        file_efforts.shown_activity_id as activity_id,
        file_efforts.effort_name,
        file_efforts.distance_m,
        file_efforts.elapsed_time_s,
        file_efforts.moving_time_s,
        activities.start_at_utc + to_seconds(coalesce(effort_starts.elapsed_s, 0))
            as start_at_utc,
        activities.start_at_local + to_seconds(coalesce(effort_starts.elapsed_s, 0))
            as start_at_local,
        cast(null as bigint) as pr_rank,
        file_efforts.start_index,
        file_efforts.end_index

    from file_efforts
    inner join activities on file_efforts.shown_activity_id = activities.activity_id
    left join effort_starts
        on file_efforts.activity_id = effort_starts.activity_id
        and file_efforts.start_index = effort_starts.start_index

),

final as (

    select *, 'api' as data_source from api_efforts
    union all by name
    select *, 'file' as data_source from file_rows

)

select * from final
