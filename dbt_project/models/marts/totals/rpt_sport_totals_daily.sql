with

activities as (

    select * from {{ ref('fct_activities') }}

),

final as (

    select
        local_date,
        sport_group,
        {{ activity_totals() }}

    from activities
    group by local_date, sport_group

)

select * from final
