{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='activity_id',
        on_schema_change='sync_all_columns',
        post_hook=["{{ delete_orphaned_activities() }}"]
    )
}}

-- depends_on: {{ ref('stg_strava__activities') }}

{#
    Mean-maximal curves per activity: for each standard duration, the best average power over any
    window of that many seconds (missing seconds count as 0 W) and the most distance covered in
    that many seconds (as speed and pace). A duration only counts when the activity is that long.
-#}

{%- set durations = mean_max_durations() %}

with

samples as (

    select * from {{ ref('fct_activity_stream_samples') }}
    where {{ activity_in_run_scope('activity_id') }}

),

windowed as (

    select
        activity_id,
        elapsed_s - min(elapsed_s) over (partition by activity_id) as since_start_s,
        {%- for d in durations %}
        sum(watts) over (
            partition by activity_id order by elapsed_s
            range between {{ d - 1 }} preceding and current row
        ) as watts_sum_{{ d }},
        distance_m - first_value(distance_m) over (
            partition by activity_id order by elapsed_s
            range between {{ d }} preceding and current row
        ) as distance_gain_{{ d }}{{ "," if not loop.last }}
        {%- endfor %}

    from samples

),

best as (

    {%- for d in durations %}
    select
        activity_id,
        {{ d }} as duration_s,
        max(case when since_start_s >= {{ d - 1 }} then watts_sum_{{ d }} end) / {{ d }}.0
            as best_avg_watts,
        max(case when since_start_s >= {{ d }} then distance_gain_{{ d }} end) / {{ d }}.0
            as best_speed_mps
    from windowed
    group by activity_id
    {{ "union all" if not loop.last }}
    {%- endfor %}

),

final as (

    select
        activity_id,
        duration_s,
        best_avg_watts,
        best_speed_mps,
        best_speed_mps * 3.6 as best_speed_kmh,
        case when best_speed_mps > 0 then 1000.0 / best_speed_mps / 60.0 end
            as best_pace_min_per_km

    from best
    where best_avg_watts is not null or best_speed_mps is not null

)

select * from final
