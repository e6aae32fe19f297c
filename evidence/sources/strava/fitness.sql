-- Daily training load and fitness (CTL), fatigue (ATL) and form (TSB) (marts.fct_fitness_daily).
select date_day, activity_count, training_load, ctl, atl, tsb
from marts.fct_fitness_daily
order by date_day
