-- Our totals against Strava's own /athletes/{id}/stats (marts.rpt_athlete_stats_comparison).
select
    period,
    sport,
    ytd_year,
    strava_activity_count,
    our_activity_count,
    dist(strava_distance_m / 1000.0) as strava_distance,
    dist(our_distance_m / 1000.0) as our_distance,
    is_match,
    unknown_visibility_count
from marts.rpt_athlete_stats_comparison
order by period, sport
