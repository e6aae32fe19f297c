-- Yearly totals per sport group (marts.rpt_sport_totals_yearly).
select
    year,
    sport_group,
    sport_label(sport_group) as sport,
    activity_count,
    dist(distance_km) as distance,
    moving_time_h as moving_hours,
    dur(moving_time_h * 3600) as moving_time,
    elev(elevation_gain_m) as elevation,
    kilojoules,
    calories
from marts.rpt_sport_totals_yearly
