{#
    The athlete's thresholds training load is scored against, one row, each with where it came
    from ('configured': a dbt var; 'strava': the athlete's Strava settings or zones; 'estimated':
    from the recorded history; 'default': a typical value). One value each for the whole history:
    Strava keeps no history of FTP or zones either.
    - FTP: var ftp_watts, else the athlete's FTP on Strava, else 95 % of the best 20-min power.
    - Threshold heart rate (LTHR): var threshold_hr, else the lower bound of the top zone of the
      athlete's Strava heart-rate zones (Strava's zone 5 starts near threshold), else 90 % of max.
    - Max heart rate: var max_heartrate, else the highest recorded.
    - Resting heart rate: var resting_heartrate, else 60 bpm (neither Strava nor a recording of
      exercise tells it).
    - Threshold running speed: var threshold_pace_min_per_km, else 95 % of the best 20-min speed
      on a road or treadmill run (as for FTP).
-#}

with

athlete as (

    select max(ftp_watts) as ftp_watts from {{ ref('stg_strava__athlete') }}

),

heart_rate_zones as (

    select max(zone_min) filter (where zone = max_zone) as top_zone_min
    from (
        select zone, zone_min, max(zone) over () as max_zone
        from {{ ref('stg_strava__athlete_zones') }}
        where zone_type = 'heartrate'
    )

),

activities as (

    select activity_id, sport_type, max_heartrate from {{ ref('fct_activities') }}

),

best_20_min as (

    select
        max(mean_max.best_avg_watts) as best_watts,
        max(mean_max.best_speed_mps) filter (
            where activities.sport_type in ('Run', 'VirtualRun')
        ) as best_run_speed_mps

    from {{ ref('fct_activity_mean_max') }} as mean_max
    inner join activities on mean_max.activity_id = activities.activity_id
    where mean_max.duration_s = 1200

),

configured as (

    select
        {{ number_var('ftp_watts') }} as ftp_watts,
        {{ number_var('threshold_hr') }} as threshold_hr,
        {{ number_var('resting_heartrate') }} as resting_hr,
        {{ number_var('threshold_pace_min_per_km') }} as threshold_pace_min_per_km

),

max_heart_rate as (

    {{ max_heart_rate() }}

),

final as (

    select
        round(coalesce(configured.ftp_watts, athlete.ftp_watts, 0.95 * best_20_min.best_watts), 1)
            as ftp_watts,
        case
            when configured.ftp_watts is not null then 'configured'
            when athlete.ftp_watts is not null then 'strava'
            when best_20_min.best_watts is not null then 'estimated'
        end as ftp_source,

        round(coalesce(
            configured.threshold_hr, heart_rate_zones.top_zone_min, 0.9 * max_heart_rate.max_hr
        ), 1) as threshold_hr,
        case
            when configured.threshold_hr is not null then 'configured'
            when heart_rate_zones.top_zone_min is not null then 'strava'
            when max_heart_rate.max_hr is not null then 'estimated'
        end as threshold_hr_source,

        max_heart_rate.max_hr,
        max_heart_rate.max_hr_source,

        coalesce(configured.resting_hr, 60.0) as resting_hr,
        case when configured.resting_hr is not null then 'configured' else 'default' end
            as resting_hr_source,

        round(coalesce(
            1000.0 / nullif(configured.threshold_pace_min_per_km * 60.0, 0),
            0.95 * best_20_min.best_run_speed_mps
        ), 3) as threshold_speed_mps,
        case
            when configured.threshold_pace_min_per_km is not null then 'configured'
            when best_20_min.best_run_speed_mps is not null then 'estimated'
        end as threshold_speed_source

    from configured
    cross join athlete
    cross join heart_rate_zones
    cross join best_20_min
    cross join max_heart_rate

)

select
    *,
    1000.0 / nullif(threshold_speed_mps, 0) / 60.0 as threshold_pace_min_per_km

from final
