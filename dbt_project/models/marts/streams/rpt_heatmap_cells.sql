{#
    Ready-to-plot heat map: cells of 0.002 degrees (about 220 m) with how many activities passed
    through them, overall and per sport group.
-#}

with

points as (

    select * from {{ ref('fct_heatmap_points') }}

),

activities as (

    select activity_id, sport_group, local_date from {{ ref('fct_activities') }}

),

cells as (

    select
        round(points.lat * 500) / 500 as lat,
        round(points.lng * 500) / 500 as lng,
        activities.sport_group,
        points.activity_id,
        activities.local_date

    from points
    inner join activities on points.activity_id = activities.activity_id

),

final as (

    select
        lat,
        lng,
        sport_group,
        count(distinct activity_id) as activity_count,
        min(local_date) as first_date,
        max(local_date) as last_date

    from cells
    group by lat, lng, sport_group

)

select * from final
