{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='activity_id',
        on_schema_change='sync_all_columns',
        post_hook=["{{ delete_orphaned_activities() }}"]
    )
}}

-- depends_on: {{ ref('int_activities') }}

{#
    Incremental by the run's window: a partitioned run (re)builds the samples of the activities
    that started in its window; a full build, or a run without window vars, all of them.
-#}

with

streams as (

    select * from {{ ref('int_activity_streams') }}
    where {{ activity_in_run_scope('activity_id') }}

),

activities as (

    select activity_id, start_at_utc from {{ ref('int_activities') }}

),

final as (

    select
        streams.activity_id,
        streams.sample_index,
        activities.start_at_utc + to_seconds(streams.elapsed_s) as sample_at_utc,
        streams.elapsed_s,
        -- the time this sample stands for: up to the next sample, 1 s for the last sample and
        -- across gaps over 10 s (recording paused)
        case
            when lead(streams.elapsed_s) over w - streams.elapsed_s between 1 and 10
                then lead(streams.elapsed_s) over w - streams.elapsed_s
            else 1
        end as sample_duration_s,
        streams.distance_m,
        streams.lat,
        streams.lng,
        streams.altitude_m,
        streams.speed_mps,
        streams.speed_mps * 3.6 as speed_kmh,
        streams.heartrate_bpm,
        streams.cadence_rpm,
        streams.watts,
        streams.temperature_c,
        streams.is_moving,
        streams.grade_pct

    from streams
    -- streams of deleted activities are not kept
    inner join activities on streams.activity_id = activities.activity_id
    window w as (partition by streams.activity_id order by streams.sample_index)

)

select * from final
