-- Every GPS track as thinned points in track order, for the all-tracks map
-- (marts.fct_heatmap_points joined to the activity's sport and date).
select
    p.activity_id,
    a.sport_group,
    sport_label(a.sport_group) as sport,
    a.local_year,
    p.first_sample_index,
    p.lat,
    p.lng
from marts.fct_heatmap_points as p
inner join marts.fct_activities as a using (activity_id)
order by p.activity_id, p.first_sample_index
