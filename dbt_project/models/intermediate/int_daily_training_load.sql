with

loads as (

    select * from {{ ref('int_activity_training_load') }}

),

final as (

    select
        local_date,
        sum(training_load) as training_load,
        count(*) as activity_count

    from loads
    group by local_date

)

select * from final
