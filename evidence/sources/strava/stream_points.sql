-- The 1 Hz streams thinned to at most about 600 points per activity: enough for charts and a
-- route map, small enough for the browser (marts.fct_activity_stream_samples).
with samples as (
    select
        *,
        count(*) over (partition by activity_id) as n,
        row_number() over (partition by activity_id order by sample_index) - 1 as i
    from marts.fct_activity_stream_samples
    -- the sport decides how speed and cadence read (see initialize.sql)
    left join (select activity_id, sport_group from marts.fct_activities) using (activity_id)
)
select
    activity_id,
    sample_index,
    elapsed_s,
    dur(elapsed_s) as elapsed,
    dist(distance_m / 1000.0) as distance,
    lat,
    lng,
    elev(altitude_m) as altitude,
    speed(speed_kmh) as speed,
    -- below walking speed (standing, or a swimmer at the wall) pace would fill the chart
    case when speed_kmh > 2 then pace(60.0 / speed_kmh) end as pace,
    case when speed_kmh > 0.5 then swim_pace(speed_kmh) end as swim_pace,
    heartrate_bpm as heartrate,
    cadence_of(cadence_rpm, sport_group) as cadence,
    watts,
    temperature_c,
    grade_pct
from samples
where i % greatest(1, cast(ceil(n / 600.0) as bigint)) = 0 or i = n - 1
order by activity_id, sample_index
