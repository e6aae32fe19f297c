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

with

samples as (

    select * from {{ ref('fct_activity_stream_samples') }}
    where {{ activity_in_run_scope('activity_id') }}

),

power_samples as (

    -- the grid is only needed for normalized power: activities with a power stream
    select activity_id, elapsed_s, watts, distance_m
    from samples
    where activity_id in (select activity_id from samples where watts is not null)

),

{{ one_hz_grid('power_samples') }},

power_30s as (

    -- 30 s rolling average power on the 1 Hz grid, the basis of normalized power
    select
        activity_id,
        since_start_s,
        avg(watts) over (
            partition by activity_id order by since_start_s
            rows between 29 preceding and current row
        ) as watts_30s

    from one_hz_grid
    where watts is not null

),

normalized_power as (

    -- 4th root of the mean 4th power of the 30 s rolling average, from the first full 30 s on;
    -- the grid's seconds are the duration TSS multiplies it with
    select
        activity_id,
        round(power(avg(case when since_start_s >= 29 then power(watts_30s, 4) end), 0.25), 2)
            as normalized_power_w,
        count(*) as normalized_power_duration_s

    from power_30s
    group by activity_id

),

rolling as (

    select
        *,
        altitude_m - lag(altitude_m) over (
            partition by activity_id order by sample_index
        ) as altitude_delta_m,
        count(*) over (partition by activity_id) as n_samples,
        row_number() over (partition by activity_id order by sample_index) as sample_rank

    from samples

),

halves as (

    select
        *,
        -- first or second half of the samples, for aerobic decoupling
        case when sample_rank <= n_samples / 2 then 1 else 2 end as half

    from rolling

),

half_efficiency as (

    select
        activity_id,
        half,
        avg(coalesce(watts, speed_mps)) / nullif(avg(heartrate_bpm), 0) as efficiency

    from halves
    where heartrate_bpm > 0 and coalesce(watts, speed_mps) is not null
    group by activity_id, half

),

decoupling as (

    select
        activity_id,
        100.0 * (
            max(case when half = 1 then efficiency end)
            - max(case when half = 2 then efficiency end)
        ) / nullif(max(case when half = 1 then efficiency end), 0) as aerobic_decoupling_pct

    from half_efficiency
    group by activity_id

),

aggregated as (

    select
        activity_id,
        count(*) as sample_count,
        max(elapsed_s) - min(elapsed_s) as stream_duration_s,
        cast(sum(case when is_moving then sample_duration_s else 0 end) as bigint)
            as stream_moving_time_s,
        max(distance_m) as stream_distance_m,
        count(lat) > 0 as has_latlng,
        count(heartrate_bpm) > 0 as has_heartrate_stream,
        count(watts) > 0 as has_power_stream,
        avg(heartrate_bpm) as avg_heartrate,
        max(heartrate_bpm) as max_heartrate,
        avg(watts) as avg_watts,
        max(watts) as max_watts,
        avg(cadence_rpm) as avg_cadence,
        avg(temperature_c) as avg_temperature_c,
        max(speed_mps) * 3.6 as max_speed_kmh,
        sum(case when altitude_delta_m > 0 then altitude_delta_m else 0 end) as ascent_m,
        sum(case when altitude_delta_m < 0 then -altitude_delta_m else 0 end) as descent_m,
        min(altitude_m) as min_altitude_m,
        max(altitude_m) as max_altitude_m

    from halves
    group by activity_id

),

final as (

    select
        aggregated.*,
        normalized_power.normalized_power_w,
        case when normalized_power.normalized_power_w is not null
            then normalized_power.normalized_power_duration_s
        end as normalized_power_duration_s,
        normalized_power.normalized_power_w / nullif(aggregated.avg_watts, 0)
            as variability_index,
        decoupling.aerobic_decoupling_pct

    from aggregated
    left join decoupling on aggregated.activity_id = decoupling.activity_id
    left join normalized_power on aggregated.activity_id = normalized_power.activity_id

)

select * from final
