{#
    Cumulative distance, time and count through each day of each year, per sport group and for
    all sports ('all'): the "this year against earlier years" line chart. The current year stops
    at `as_of_date`.
-#}

with

activities as (

    select * from {{ ref('fct_activities') }}

),

years as (

    select distinct local_year as year from activities

),

days as (

    select
        years.year,
        cast(day as date) as date_day

    from years
    cross join lateral (
        select unnest(generate_series(
            make_date(years.year, 1, 1),
            least(make_date(years.year, 12, 31), greatest({{ as_of_date() }}, make_date(years.year, 1, 1))),
            interval 1 day
        )) as day
    )

),

sport_groups as (

    select unnest(['run', 'ride', 'swim', 'walk_hike', 'other', 'all']) as sport_group

),

daily as (

    select local_date, sport_group, count(*) as n, sum(distance_km) as distance_km,
        sum(moving_time_s) as moving_time_s, sum(elevation_gain_m) as elevation_gain_m
    from activities
    group by local_date, sport_group

    union all

    select local_date, 'all', count(*), sum(distance_km), sum(moving_time_s),
        sum(elevation_gain_m)
    from activities
    group by local_date

),

final as (

    select
        days.year,
        days.date_day,
        cast(dayofyear(days.date_day) as integer) as day_of_year,
        sport_groups.sport_group,
        cast(sum(coalesce(daily.n, 0)) over w as bigint) as cumulative_activity_count,
        sum(coalesce(daily.distance_km, 0)) over w as cumulative_distance_km,
        sum(coalesce(daily.moving_time_s, 0)) over w / 3600.0 as cumulative_moving_time_h,
        sum(coalesce(daily.elevation_gain_m, 0)) over w as cumulative_elevation_gain_m

    from days
    cross join sport_groups
    left join daily
        on days.date_day = daily.local_date
        and sport_groups.sport_group = daily.sport_group
    window w as (
        partition by days.year, sport_groups.sport_group
        order by days.date_day
        rows between unbounded preceding and current row
    )

)

select * from final
