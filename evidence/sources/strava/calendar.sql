-- One row per day from the first activity to today, rest days included (marts.dim_calendar).
select
    date_day,
    year,
    month,
    day_of_year,
    iso_day_of_week,
    week_start,
    month_start,
    activity_count,
    dist(distance_km) as distance,
    moving_time_h as moving_hours,
    elev(elevation_gain_m) as elevation,
    sport_groups,
    is_active
from marts.dim_calendar
