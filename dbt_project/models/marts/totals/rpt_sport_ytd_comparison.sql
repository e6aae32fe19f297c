{#
    Year to date against last year to the same day, per sport group and for all sports
    ('all'), as of `as_of_date` (default today). Last year's window ends on the same calendar
    day (28 February when today is 29 February).
-#}

with

activities as (

    select * from {{ ref('fct_activities') }}

),

bounds as (

    select
        {{ as_of_date() }} as as_of_date,
        cast(date_trunc('year', {{ as_of_date() }}) as date) as this_year_start,
        cast(date_trunc('year', {{ as_of_date() }}) - interval 1 year as date) as last_year_start,
        cast({{ as_of_date() }} - interval 1 year as date) as last_year_as_of_date

),

tagged as (

    select
        activities.*,
        case
            when activities.local_date between bounds.this_year_start and bounds.as_of_date
                then 'this_year'
            when activities.local_date between bounds.last_year_start
                and bounds.last_year_as_of_date
                then 'last_year'
        end as ytd_period

    from activities
    cross join bounds

),

sport_groups as (

    select unnest(['run', 'ride', 'swim', 'walk_hike', 'other', 'all']) as sport_group

),

per_sport as (

    select
        sport_groups.sport_group,
        count(case when tagged.ytd_period = 'this_year' then 1 end) as ytd_activity_count,
        coalesce(sum(case when tagged.ytd_period = 'this_year' then tagged.distance_km end), 0)
            as ytd_distance_km,
        coalesce(sum(case when tagged.ytd_period = 'this_year' then tagged.moving_time_s end), 0)
            / 3600.0 as ytd_moving_time_h,
        coalesce(
            sum(case when tagged.ytd_period = 'this_year' then tagged.elevation_gain_m end), 0
        ) as ytd_elevation_gain_m,
        count(case when tagged.ytd_period = 'last_year' then 1 end) as last_ytd_activity_count,
        coalesce(sum(case when tagged.ytd_period = 'last_year' then tagged.distance_km end), 0)
            as last_ytd_distance_km,
        coalesce(sum(case when tagged.ytd_period = 'last_year' then tagged.moving_time_s end), 0)
            / 3600.0 as last_ytd_moving_time_h,
        coalesce(
            sum(case when tagged.ytd_period = 'last_year' then tagged.elevation_gain_m end), 0
        ) as last_ytd_elevation_gain_m

    from sport_groups
    left join tagged
        on sport_groups.sport_group = tagged.sport_group
        or sport_groups.sport_group = 'all'
    group by sport_groups.sport_group

),

final as (

    select
        bounds.as_of_date,
        bounds.last_year_as_of_date,
        per_sport.*,
        per_sport.ytd_distance_km - per_sport.last_ytd_distance_km as distance_change_km,
        100.0 * (per_sport.ytd_distance_km - per_sport.last_ytd_distance_km)
            / nullif(per_sport.last_ytd_distance_km, 0) as distance_change_pct

    from per_sport
    cross join bounds

)

select * from final
