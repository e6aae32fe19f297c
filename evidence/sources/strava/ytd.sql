-- Year to date against last year to the same day, per sport group and 'all'
-- (marts.rpt_sport_ytd_comparison).
select
    as_of_date,
    last_year_as_of_date,
    sport_group,
    sport_label(sport_group) as sport,
    ytd_activity_count,
    dist(ytd_distance_km) as ytd_distance,
    ytd_moving_time_h as ytd_moving_hours,
    dur(ytd_moving_time_h * 3600) as ytd_moving_time,
    elev(ytd_elevation_gain_m) as ytd_elevation,
    last_ytd_activity_count,
    dist(last_ytd_distance_km) as last_ytd_distance,
    last_ytd_moving_time_h as last_ytd_moving_hours,
    elev(last_ytd_elevation_gain_m) as last_ytd_elevation,
    distance_change_pct / 100.0 as distance_change,
    -- the change in distance is defined even when last year had none (the percentage is not)
    dist(distance_change_km) as distance_change_dist,
    case
        when distance_change_pct is not null then printf('%+.0f%%', distance_change_pct)
        when ytd_distance_km > 0 then 'new this year'
        else 'no distance'
    end as distance_change_label
from marts.rpt_sport_ytd_comparison
