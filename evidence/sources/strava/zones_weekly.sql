-- Time in heart-rate and power zones per week (marts.rpt_zones_weekly).
select
    local_week,
    zone_type,
    zone,
    zone_label,
    zone_min,
    zone_max,
    cast(time_s as bigint) as time_s,
    time_h as hours,
    time_share
from marts.rpt_zones_weekly
