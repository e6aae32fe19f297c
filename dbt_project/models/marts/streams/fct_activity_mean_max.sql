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
    Mean-maximal curves per activity: for each standard duration, the best average power over any
    window of that many seconds and the most distance covered in that many seconds (as speed and
    pace). A duration only counts when the activity is that long.

    Computed on the 1 Hz grid of macro one_hz_grid (the same resampling as normalized power: power
    held across gaps up to 10 s, 0 W across longer ones, distance interpolated), so windows are
    row offsets (fast lag() over running sums, not range frames).
#}

{%- set durations = mean_max_durations() %}

with

samples as (

    select activity_id, elapsed_s, watts, distance_m
    from {{ ref('fct_activity_stream_samples') }}
    where {{ activity_in_run_scope('activity_id') }}

),

{{ one_hz_grid() }},

cumulative as (

    select
        activity_id,
        elapsed_s,
        distance_m,
        sum(coalesce(watts, 0)) over (
            partition by activity_id order by elapsed_s rows unbounded preceding
        ) as energy_j,
        since_start_s

    from one_hz_grid

),

windowed as (

    select
        activity_id,
        since_start_s,
        {%- for d in durations %}
        energy_j - coalesce(lag(energy_j, {{ d }}) over w, 0) as watts_sum_{{ d }},
        distance_m - lag(distance_m, {{ d }}) over w as distance_gain_{{ d }}
        {{- "," if not loop.last }}
        {%- endfor %}

    from cumulative
    window w as (partition by activity_id order by elapsed_s)

),

best as (

    {%- for d in durations %}
    select
        windowed.activity_id,
        {{ d }} as duration_s,
        case
            when grid_shape.has_power
                then max(case when windowed.since_start_s >= {{ d - 1 }}
                    then windowed.watts_sum_{{ d }} end) / {{ d }}.0
        end as best_avg_watts,
        max(windowed.distance_gain_{{ d }}) / {{ d }}.0 as best_speed_mps
    from windowed
    inner join grid_shape on windowed.activity_id = grid_shape.activity_id
    group by windowed.activity_id, grid_shape.has_power
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
