-- Daily training load and fitness (CTL), fatigue (ATL) and form (TSB, yesterday's CTL - ATL)
-- (marts.fct_fitness_daily).
select date_day, activity_count, training_load, ctl, atl, tsb, days_of_history, is_ctl_established
from marts.fct_fitness_daily
order by date_day
