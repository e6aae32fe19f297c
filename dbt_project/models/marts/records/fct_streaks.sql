{#
    Streaks of consecutive active local days (`streak_type` = 'day') and of consecutive local ISO
    weeks with at least one activity ('week'), one row per streak. A streak is current when it is
    still alive on `as_of_date` (default today): a day streak that reached today or yesterday, a
    week streak that reached this week or last week.
-#}

with

activities as (

    select local_date, local_week from {{ ref('fct_activities') }}

),

active_days as (

    select distinct local_date as period_start from activities

),

active_weeks as (

    select distinct local_week as period_start from activities

),

day_islands as (

    select
        'day' as streak_type,
        period_start,
        period_start - cast(row_number() over (order by period_start) as integer) as island

    from active_days

),

week_islands as (

    select
        'week' as streak_type,
        period_start,
        period_start - cast(7 * row_number() over (order by period_start) as integer) as island

    from active_weeks

),

streaks as (

    select
        streak_type,
        min(period_start) as streak_start,
        max(period_start) as streak_end,
        count(*) as streak_length

    from (select * from day_islands union all select * from week_islands)
    group by streak_type, island

),

final as (

    select
        streak_type || '-' || strftime(streak_start, '%Y-%m-%d') as streak_id,
        streak_type,
        streak_start,
        streak_end,
        cast(streak_length as integer) as streak_length,
        case
            when streak_type = 'day'
                then streak_end >= {{ as_of_date() }} - 1
            else streak_end >= cast(date_trunc('week', {{ as_of_date() }}) as date) - 7
        end as is_current,
        row_number() over (
            partition by streak_type order by streak_length desc, streak_end desc
        ) = 1 as is_longest

    from streaks

)

select * from final
