-- The unit labels the pages print next to numbers (see initialize.sql for the conversion).
select
    any_value(measurement_preference) as measurement_preference,
    is_imperial() as is_imperial,
    case when is_imperial() then 'mi' else 'km' end as dist_unit,
    case when is_imperial() then 'ft' else 'm' end as elev_unit,
    case when is_imperial() then 'mph' else 'km/h' end as speed_unit,
    case when is_imperial() then '/mi' else '/km' end as pace_unit,
    case when is_imperial() then '/100 yd' else '/100 m' end as swim_pace_unit,
    case when is_imperial() then 'standard' else 'metric' end as split_units,
    case when is_imperial() then 'mile' else 'km' end as split_label
from athlete_units
