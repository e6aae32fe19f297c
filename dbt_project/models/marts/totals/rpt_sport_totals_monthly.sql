with

activities as (

    select * from {{ ref('fct_activities') }}

),

final as (

    select
        local_month as month_start,
        cast(year(local_month) as integer) as year,
        cast(month(local_month) as integer) as month,
        sport_group,
        {{ activity_totals() }}

    from activities
    group by local_month, sport_group

)

select * from final
