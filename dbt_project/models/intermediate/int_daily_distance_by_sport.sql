with

activities as (

    select * from {{ ref('fct_activities') }}

),

final as (

    select
        local_date,
        sport_group,
        sum(distance_km) as distance_km,
        sum(distance_mi) as distance_mi

    from activities
    group by local_date, sport_group

)

select * from final
