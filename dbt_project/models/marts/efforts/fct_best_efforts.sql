{#
    Every best effort inside a run. pr_rank is Strava's (1 = the athlete's fastest over that
    distance when the run was uploaded, 2 and 3 the runners-up) where Strava gave one; for the
    other efforts (those computed from a file, and those Strava did not rank) it is computed the
    same way from the history loaded here: the effort's place among all efforts over the same
    distance up to and including it, when that place is 1-3 (else NULL, as Strava leaves it).
    pr_rank_source says which ('strava' or 'computed').
-#}

with

efforts as (

    select * from {{ ref('int_activity_best_efforts') }}

),

activities as (

    select activity_id, sport_type, local_date, local_year from {{ ref('fct_activities') }}

),

ranked as (

    select
        efforts.*,
        -- earlier (or same-time, lower id) efforts over the distance that were faster, plus one
        1 + count(*) filter (where faster.best_effort_id is not null) as place_at_the_time

    from efforts
    left join efforts as faster
        on faster.effort_name = efforts.effort_name
        and faster.elapsed_time_s < efforts.elapsed_time_s
        and (
            faster.start_at_utc < efforts.start_at_utc
            or (faster.start_at_utc = efforts.start_at_utc
                and faster.best_effort_id < efforts.best_effort_id)
        )
    group by all

),

final as (

    select
        efforts.best_effort_id,
        efforts.activity_id,
        efforts.effort_name,
        efforts.distance_m,
        activities.sport_type,
        activities.local_date,
        activities.local_year,
        efforts.start_at_utc,
        efforts.start_at_local,
        efforts.elapsed_time_s,
        efforts.moving_time_s,
        (efforts.elapsed_time_s / 60.0) / nullif(efforts.distance_m / 1000.0, 0)
            as pace_min_per_km,
        coalesce(
            efforts.pr_rank,
            case when efforts.place_at_the_time <= 3 then efforts.place_at_the_time end
        ) as pr_rank,
        case when efforts.pr_rank is not null then 'strava' else 'computed' end as pr_rank_source

    from ranked as efforts
    inner join activities on efforts.activity_id = activities.activity_id

)

select * from final
