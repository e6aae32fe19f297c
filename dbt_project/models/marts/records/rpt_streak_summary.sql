{# Longest and current streak of active days and of active weeks, one row per streak type. -#}

with

streaks as (

    select * from {{ ref('fct_streaks') }}

),

streak_types as (

    select * from (values ('day', 1), ('week', 2)) as t(streak_type, sort_order)

),

final as (

    select
        streak_types.streak_type,
        coalesce(longest.streak_length, 0) as longest_length,
        longest.streak_start as longest_start,
        longest.streak_end as longest_end,
        coalesce(current_streak.streak_length, 0) as current_length,
        current_streak.streak_start as current_start

    from streak_types
    left join streaks as longest
        on streak_types.streak_type = longest.streak_type and longest.is_longest
    left join streaks as current_streak
        on streak_types.streak_type = current_streak.streak_type and current_streak.is_current
    order by streak_types.sort_order

)

select * from final
