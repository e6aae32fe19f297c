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

    Computed on a 1 Hz grid, so windows are row offsets (fast lag() over running sums, not range
    frames): activities recorded at 1 Hz without gaps are used as they are; others (smart
    recording, pauses) are resampled: power held from the previous sample, 0 W inside pauses
    (gaps over 10 s), distance interpolated linearly.
#}

{%- set durations = mean_max_durations() %}

with

samples as (

    select activity_id, elapsed_s, watts, distance_m
    from {{ ref('fct_activity_stream_samples') }}
    where {{ activity_in_run_scope('activity_id') }}

),

shape as (

    select
        activity_id,
        count(*) as sample_count,
        min(elapsed_s) as first_s,
        max(elapsed_s) as last_s,
        count(watts) > 0 as has_power,
        count(*) = max(elapsed_s) - min(elapsed_s) + 1 as is_regular_1hz

    from samples
    group by activity_id

),

regular as (

    select samples.activity_id, samples.elapsed_s, samples.watts, samples.distance_m
    from samples
    inner join shape on samples.activity_id = shape.activity_id
    where shape.is_regular_1hz

),

irregular_samples as (

    select samples.*
    from samples
    inner join shape on samples.activity_id = shape.activity_id
    where not shape.is_regular_1hz

),

grid as (

    select
        activity_id,
        unnest(generate_series(first_s, last_s)) as elapsed_s

    from shape
    where not is_regular_1hz

),

resampled as (

    select
        grid.activity_id,
        grid.elapsed_s,
        case
            when grid.elapsed_s = prev.elapsed_s or nxt.elapsed_s - prev.elapsed_s <= 10
                then prev.watts
            when prev.watts is not null
                then 0
        end as watts,
        prev.distance_m + coalesce(
            (nxt.distance_m - prev.distance_m) * (grid.elapsed_s - prev.elapsed_s)
            / nullif(nxt.elapsed_s - prev.elapsed_s, 0),
            0
        ) as distance_m

    from grid
    asof inner join irregular_samples as prev
        on grid.activity_id = prev.activity_id and prev.elapsed_s <= grid.elapsed_s
    asof left join irregular_samples as nxt
        on grid.activity_id = nxt.activity_id and nxt.elapsed_s >= grid.elapsed_s

),

dense as (

    select * from regular
    union all
    select * from resampled

),

cumulative as (

    select
        activity_id,
        elapsed_s,
        distance_m,
        sum(coalesce(watts, 0)) over (
            partition by activity_id order by elapsed_s rows unbounded preceding
        ) as energy_j,
        row_number() over (partition by activity_id order by elapsed_s) - 1 as since_start_s

    from dense

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
            when shape.has_power
                then max(case when windowed.since_start_s >= {{ d - 1 }}
                    then windowed.watts_sum_{{ d }} end) / {{ d }}.0
        end as best_avg_watts,
        max(windowed.distance_gain_{{ d }}) / {{ d }}.0 as best_speed_mps
    from windowed
    inner join shape on windowed.activity_id = shape.activity_id
    group by windowed.activity_id, shape.has_power
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
