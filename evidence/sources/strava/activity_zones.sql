-- Time in heart-rate and power zones per activity (marts.fct_activity_zones).
select
    activity_id,
    zone_type,
    zone,
    'Z' || zone as zone_label,
    zone_min,
    zone_max,
    case when zone_max is null then zone_min || '+' else zone_min || '–' || zone_max end
        as zone_range,
    cast(time_s as bigint) as time_s,
    dur(time_s) as time_in_zone,
    time_s / 60.0 as minutes,
    time_share
from marts.fct_activity_zones
order by activity_id, zone_type, zone
