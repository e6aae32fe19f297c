{#
    Fitness, fatigue and form for every calendar day from the first day with training to
    `as_of_date` (default today; later if activities are dated later), rest days included:
    CTL_t = CTL_(t-1) + (load_t - CTL_(t-1)) / 42, ATL likewise over 7 days, both starting at 0
    the day before the first training day. Form as TrainingPeaks shows it: TSB_t = CTL_(t-1) -
    ATL_(t-1), yesterday's fitness minus yesterday's fatigue, so today's training does not
    change today's form. CTL needs about 42 days to mean anything: days_of_history says how many
    days it has had (1 on the first training day), and is_ctl_established whether that is 42.
-#}

with recursive

activity_loads as (

    select * from {{ ref('fct_activity_training_load') }}

),

daily_load as (

    select
        local_date,
        sum(training_load) as training_load,
        count(*) as activity_count

    from activity_loads
    group by local_date

),

bounds as (

    select
        min(local_date) as first_day,
        greatest(max(local_date), {{ as_of_date() }}) as last_day

    from daily_load

),

days as (

    select
        cast(day as date) as date_day,
        row_number() over (order by day) as day_number

    from bounds
    cross join lateral (
        select unnest(generate_series(bounds.first_day, bounds.last_day, interval 1 day)) as day
    )
    where bounds.first_day is not null

),

series as (

    select
        days.date_day,
        days.day_number,
        coalesce(daily_load.training_load, 0) as training_load,
        coalesce(daily_load.activity_count, 0) as activity_count

    from days
    left join daily_load on days.date_day = daily_load.local_date

),

ewma as (

    select
        day_number,
        date_day,
        training_load,
        training_load / 42.0 as ctl,
        training_load / 7.0 as atl

    from series
    where day_number = 1

    union all

    select
        series.day_number,
        series.date_day,
        series.training_load,
        ewma.ctl + (series.training_load - ewma.ctl) / 42.0 as ctl,
        ewma.atl + (series.training_load - ewma.atl) / 7.0 as atl

    from ewma
    inner join series on series.day_number = ewma.day_number + 1

),

final as (

    select
        ewma.date_day,
        series.activity_count,
        round(ewma.training_load, 2) as training_load,
        round(ewma.ctl, 2) as ctl,
        round(ewma.atl, 2) as atl,
        -- yesterday's CTL - ATL; both are 0 before the first day
        round(coalesce(lag(ewma.ctl - ewma.atl) over (order by ewma.day_number), 0), 2) as tsb,
        ewma.day_number as days_of_history,
        ewma.day_number >= 42 as is_ctl_established

    from ewma
    inner join series on ewma.day_number = series.day_number

)

select * from final
