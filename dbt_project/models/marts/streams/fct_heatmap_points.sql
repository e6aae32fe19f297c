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
    GPS track points thinned for heat maps: samples snapped to a grid of 0.0005 degrees (about
    55 m north-south) and kept once per activity and grid cell, in track order.
-#}

with

samples as (

    select * from {{ ref('fct_activity_stream_samples') }}
    where {{ activity_in_run_scope('activity_id') }}
        and lat is not null
        and lng is not null

),

snapped as (

    select
        activity_id,
        sample_index,
        round(lat * 2000) / 2000 as lat,
        round(lng * 2000) / 2000 as lng

    from samples

),

final as (

    select
        activity_id,
        lat,
        lng,
        min(sample_index) as first_sample_index,
        count(*) as sample_count

    from snapped
    group by activity_id, lat, lng

)

select * from final
