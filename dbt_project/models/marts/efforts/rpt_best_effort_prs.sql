{#
    Personal-record progression per best effort (400m ... Marathon): every effort that was faster
    than all earlier efforts over the same distance, in date order.
-#}

with

efforts as (

    select * from {{ ref('fct_best_efforts') }}

),

with_previous_best as (

    select
        *,
        min(elapsed_time_s) over (
            partition by effort_name
            order by start_at_utc, best_effort_id
            rows between unbounded preceding and 1 preceding
        ) as previous_best_s

    from efforts

),

prs as (

    select * from with_previous_best
    where previous_best_s is null or elapsed_time_s < previous_best_s

),

final as (

    select
        best_effort_id,
        activity_id,
        effort_name,
        distance_m,
        local_date,
        start_at_utc,
        elapsed_time_s,
        pace_min_per_km,
        previous_best_s,
        previous_best_s - elapsed_time_s as improvement_s,
        row_number() over (partition by effort_name order by start_at_utc, best_effort_id)
            as pr_number,
        elapsed_time_s = min(elapsed_time_s) over (partition by effort_name) as is_current_pr

    from prs

)

select * from final
