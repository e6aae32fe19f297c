with

activities as (

    select * from {{ ref('fct_activities') }}

),

final as (

    select
        local_year as year,
        sport_group,
        {{ activity_totals() }}

    from activities
    group by local_year, sport_group

)

select * from final
