with

activities as (

    select * from {{ ref('fct_activities') }}

),

final as (

    select
        local_week as week_start,
        -- ISO year and week of the Monday: the week of 2024-12-30 is 2025-W01
        cast(isoyear(local_week) as integer) as iso_year,
        cast(week(local_week) as integer) as iso_week,
        sport_group,
        {{ activity_totals() }}

    from activities
    group by local_week, sport_group

)

select * from final
