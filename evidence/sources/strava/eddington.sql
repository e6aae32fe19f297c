-- Eddington numbers per sport and unit, with what the next number needs (marts.rpt_eddington).
select
    sport_group,
    unit,
    eddington_number,
    active_days,
    next_number,
    days_at_or_above_next,
    days_needed_for_next
from marts.rpt_eddington
order by sport_group, unit
