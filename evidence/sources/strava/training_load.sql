-- Training load of each activity and the method that scored it (marts.fct_activity_training_load).
select
    load.activity_id,
    '/activities/' || load.activity_id || '/' as link,
    activities.name,
    activities.sport_type,
    load.local_date,
    load.training_load,
    case load.training_load_method
        when 'power' then 'TSS (power)'
        when 'pace' then 'rTSS (pace)'
        when 'heartrate' then 'hrTSS (heart rate)'
        else 'none'
    end as training_load_method,
    load.intensity_factor
from marts.fct_activity_training_load as load
inner join marts.fct_activities as activities on load.activity_id = activities.activity_id
order by load.local_date desc, load.activity_id desc
