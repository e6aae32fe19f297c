-- Cumulative totals through each day of each year (marts.rpt_sport_ytd_cumulative).
select
    year,
    date_day,
    day_of_year,
    sport_group,
    sport_label(sport_group) as sport,
    cast(cumulative_activity_count as bigint) as activity_count,
    dist(cumulative_distance_km) as distance,
    cumulative_moving_time_h as moving_hours,
    elev(cumulative_elevation_gain_m) as elevation
from marts.rpt_sport_ytd_cumulative
