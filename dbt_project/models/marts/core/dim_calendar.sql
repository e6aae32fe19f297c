{#
    One row per local calendar day from the first activity to `as_of_date` (default today; later
    if activities are dated later), with calendar attributes and the day's activity totals (zero
    on rest days): the calendar heat map and any per-day join.
-#}

with

activities as (

    select * from {{ ref('fct_activities') }}

),

bounds as (

    select
        min(local_date) as first_day,
        greatest(max(local_date), {{ as_of_date() }}) as last_day

    from activities

),

days as (

    select cast(day as date) as date_day
    from bounds
    cross join lateral (
        select unnest(generate_series(bounds.first_day, bounds.last_day, interval 1 day)) as day
    )
    where bounds.first_day is not null

),

daily as (

    select
        local_date,
        count(*) as activity_count,
        sum(distance_km) as distance_km,
        sum(moving_time_s) as moving_time_s,
        sum(elevation_gain_m) as elevation_gain_m,
        string_agg(distinct sport_group, ',' order by sport_group) as sport_groups

    from activities
    group by local_date

),

final as (

    select
        days.date_day,
        cast(year(days.date_day) as integer) as year,
        cast(month(days.date_day) as integer) as month,
        cast(day(days.date_day) as integer) as day_of_month,
        cast(dayofyear(days.date_day) as integer) as day_of_year,
        cast(isodow(days.date_day) as integer) as iso_day_of_week,
        dayname(days.date_day) as day_name,
        isodow(days.date_day) >= 6 as is_weekend,
        cast(date_trunc('week', days.date_day) as date) as week_start,
        cast(isoyear(days.date_day) as integer) as iso_year,
        cast(week(days.date_day) as integer) as iso_week,
        cast(date_trunc('month', days.date_day) as date) as month_start,
        coalesce(daily.activity_count, 0) as activity_count,
        coalesce(daily.distance_km, 0) as distance_km,
        coalesce(daily.moving_time_s, 0) / 3600.0 as moving_time_h,
        coalesce(daily.elevation_gain_m, 0) as elevation_gain_m,
        daily.sport_groups,
        coalesce(daily.activity_count, 0) > 0 as is_active

    from days
    left join daily on days.date_day = daily.local_date

)

select * from final
