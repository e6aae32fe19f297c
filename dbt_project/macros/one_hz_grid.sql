{#-
    The one resampling rule for everything computed from power over time: normalized power (and
    with it TSS) in fct_activity_stream_metrics and the mean-maximal curves in
    fct_activity_mean_max. Written once so NP, TSS and the curves never disagree about a gap.

    Expands to CTEs ending in `one_hz_grid` (activity_id, elapsed_s, since_start_s, watts,
    distance_m): one row per second from an activity's first sample to its last, read from the
    CTE named `source` (activity_id, elapsed_s, watts, distance_m).
    - Activities recorded every second without gaps are used as they are.
    - Otherwise (smart recording, auto-pause, dropouts) a second between two samples takes
      * the previous sample's power when the gap between them is at most 10 s (smart recording
        sampled a steady effort), and 0 W when it is longer (auto-pause: the rider stopped, so
        the gap counts as stopped time, exactly like a device that records its stops at 0 W);
      * distance interpolated linearly (a pause then covers no distance, as recorded).
    - Power is 0 W where a power recording has no value (a dropout), NULL throughout an
      activity without power.
-#}
{% macro one_hz_grid(source='samples', max_held_gap_s=10) %}

grid_shape as (

    select
        activity_id,
        min(elapsed_s) as first_s,
        max(elapsed_s) as last_s,
        count(watts) > 0 as has_power,
        count(*) = max(elapsed_s) - min(elapsed_s) + 1 as is_regular_1hz

    from {{ source }} as samples
    group by activity_id

),

grid_regular as (

    select
        samples.activity_id,
        samples.elapsed_s,
        case when grid_shape.has_power then coalesce(samples.watts, 0) end as watts,
        samples.distance_m

    from {{ source }} as samples
    inner join grid_shape on samples.activity_id = grid_shape.activity_id
    where grid_shape.is_regular_1hz

),

grid_irregular_samples as (

    select samples.*, grid_shape.has_power
    from {{ source }} as samples
    inner join grid_shape on samples.activity_id = grid_shape.activity_id
    where not grid_shape.is_regular_1hz

),

grid_seconds as (

    select
        activity_id,
        unnest(generate_series(first_s, last_s)) as elapsed_s

    from grid_shape
    where not is_regular_1hz

),

grid_resampled as (

    select
        grid_seconds.activity_id,
        grid_seconds.elapsed_s,
        case
            when not prev.has_power then null
            when grid_seconds.elapsed_s = prev.elapsed_s
                or nxt.elapsed_s - prev.elapsed_s <= {{ max_held_gap_s }}
                then coalesce(prev.watts, 0)
            else 0
        end as watts,
        prev.distance_m + coalesce(
            (nxt.distance_m - prev.distance_m) * (grid_seconds.elapsed_s - prev.elapsed_s)
            / nullif(nxt.elapsed_s - prev.elapsed_s, 0),
            0
        ) as distance_m

    from grid_seconds
    asof inner join grid_irregular_samples as prev
        on grid_seconds.activity_id = prev.activity_id and prev.elapsed_s <= grid_seconds.elapsed_s
    asof left join grid_irregular_samples as nxt
        on grid_seconds.activity_id = nxt.activity_id and nxt.elapsed_s >= grid_seconds.elapsed_s

),

grid_dense as (

    select * from grid_regular
    union all
    select * from grid_resampled

),

one_hz_grid as (

    select
        activity_id,
        elapsed_s,
        row_number() over (partition by activity_id order by elapsed_s) - 1 as since_start_s,
        watts,
        distance_m

    from grid_dense

)

{% endmacro %}
