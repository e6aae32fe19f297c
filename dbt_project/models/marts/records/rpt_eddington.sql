{#
    Eddington number E: the largest E such that on at least E days the athlete covered at least
    E (km or miles) in one sport, per sport and unit (rides in km and miles, runs in km), with
    how many more days at or above E + 1 the next number needs. Distances of several activities
    of a sport on one local day add up (rpt_sport_totals_daily).

    Marts are metric and the site converts what it shows into the athlete's units
    (evidence/sources/strava/initialize.sql). The Eddington number in miles is the one
    exception: it is a different number, not the km one converted, so it is counted here from
    each day's distance in miles (1 mi = 1.609344 km).
-#}

with

daily as (

    select local_date, sport_group, distance_km
    from {{ ref('rpt_sport_totals_daily') }}

),

measures as (

    select 'ride' as sport_group, 'km' as unit, local_date, distance_km as distance
    from daily where sport_group = 'ride'

    union all

    select 'ride', 'mi', local_date, distance_km / 1.609344
    from daily where sport_group = 'ride'

    union all

    select 'run', 'km', local_date, distance_km
    from daily where sport_group = 'run'

),

ranked as (

    select
        *,
        row_number() over (partition by sport_group, unit order by distance desc) as day_rank

    from measures

),

numbers as (

    select
        sport_group,
        unit,
        coalesce(max(case when distance >= day_rank then day_rank end), 0) as eddington_number,
        count(*) as active_days

    from ranked
    group by sport_group, unit

),

combos as (

    select * from (values ('ride', 'km'), ('ride', 'mi'), ('run', 'km')) as t(sport_group, unit)

),

final as (

    select
        combos.sport_group,
        combos.unit,
        coalesce(numbers.eddington_number, 0) as eddington_number,
        coalesce(numbers.active_days, 0) as active_days,
        coalesce(numbers.eddington_number, 0) + 1 as next_number,
        (
            select count(*) from measures
            where measures.sport_group = combos.sport_group
                and measures.unit = combos.unit
                and measures.distance >= coalesce(numbers.eddington_number, 0) + 1
        ) as days_at_or_above_next,
        coalesce(numbers.eddington_number, 0) + 1 - (
            select count(*) from measures
            where measures.sport_group = combos.sport_group
                and measures.unit = combos.unit
                and measures.distance >= coalesce(numbers.eddington_number, 0) + 1
        ) as days_needed_for_next

    from combos
    left join numbers
        on combos.sport_group = numbers.sport_group
        and combos.unit = numbers.unit

)

select * from final
