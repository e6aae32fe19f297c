{#
    Training load of each activity on ONE scale, TrainingPeaks' training stress score (an hour at
    threshold = 100), by the first method the activity's data allows (TrainingPeaks' order):
    - power: TSS = 100 x seconds x (NP / FTP)^2 / 3600 when the activity has measured power and
      there is an FTP. NP and its seconds come from the streams' 1 Hz grid (macro one_hz_grid),
      else Strava's weighted average power over the moving time.
    - pace: rTSS = 100 x moving seconds x (speed / threshold speed)^2 / 3600 for road and
      treadmill runs (Run, VirtualRun) with a distance, speed = average moving speed. Trail runs
      are left to heart rate: on rough ground pace says little about effort.
    - heartrate: hrTSS = 100 x TRIMP(activity) / TRIMP(one hour at threshold heart rate), Banister's
      TRIMP = minutes x HRr x 0.64 e^(1.92 HRr) (0.86 e^(1.67 HRr) for women), HRr = (HR -
      resting) / (max - resting), from the average heart rate over the moving time.
    - none: 0 (no power, no usable pace, no heart rate).
    The thresholds (FTP, threshold HR and speed, resting and max HR) and where each came from:
    dim_training_thresholds.
-#}

with

activities as (

    select * from {{ ref('fct_activities') }}

),

stream_metrics as (

    select activity_id, normalized_power_w, normalized_power_duration_s, has_power_stream
    from {{ ref('fct_activity_stream_metrics') }}

),

thresholds as (

    select * from {{ ref('dim_training_thresholds') }}

),

athlete as (

    select coalesce(max(case when sex = 'F' then true end), false) as is_female
    from {{ ref('stg_strava__athlete') }}

),

inputs as (

    select
        activities.activity_id,
        activities.local_date,
        activities.sport_type,
        activities.sport_group,
        activities.moving_time_s,
        activities.avg_heartrate,
        activities.suffer_score,
        case
            when activities.has_device_watts or stream_metrics.has_power_stream
                then coalesce(
                    stream_metrics.normalized_power_w,
                    activities.weighted_avg_watts,
                    activities.avg_watts
                )
        end as normalized_power_w,
        case
            when stream_metrics.normalized_power_w is not null
                then stream_metrics.normalized_power_duration_s
            else activities.moving_time_s
        end as power_duration_s,
        case
            when activities.sport_type in ('Run', 'VirtualRun') and activities.distance_m > 0
                and activities.moving_time_s > 0
                then activities.distance_m / activities.moving_time_s
        end as run_speed_mps,
        thresholds.ftp_watts,
        thresholds.threshold_speed_mps,
        athlete.is_female,
        -- heart-rate reserve of the activity and of threshold, both clamped to [0, 1]
        case
            when activities.avg_heartrate > 0 and thresholds.max_hr > thresholds.resting_hr
                then least(greatest(
                    (activities.avg_heartrate - thresholds.resting_hr)
                    / (thresholds.max_hr - thresholds.resting_hr), 0), 1)
        end as heart_rate_reserve,
        case
            when thresholds.max_hr > thresholds.resting_hr
                then least(greatest(
                    (thresholds.threshold_hr - thresholds.resting_hr)
                    / (thresholds.max_hr - thresholds.resting_hr), 0), 1)
        end as threshold_heart_rate_reserve

    from activities
    left join stream_metrics on activities.activity_id = stream_metrics.activity_id
    cross join thresholds
    cross join athlete

),

trimp_rates as (

    -- Banister's TRIMP per minute at the activity's and at threshold heart-rate reserve
    select
        *,
        heart_rate_reserve * case
            when is_female then 0.86 * exp(1.67 * heart_rate_reserve)
            else 0.64 * exp(1.92 * heart_rate_reserve)
        end as trimp_per_min,
        threshold_heart_rate_reserve * case
            when is_female then 0.86 * exp(1.67 * threshold_heart_rate_reserve)
            else 0.64 * exp(1.92 * threshold_heart_rate_reserve)
        end as threshold_trimp_per_min

    from inputs

),

loads as (

    select
        *,
        case
            when normalized_power_w > 0 and ftp_watts > 0
                then 100.0 * power_duration_s * power(normalized_power_w / ftp_watts, 2) / 3600
        end as power_tss,
        case
            when run_speed_mps > 0 and threshold_speed_mps > 0
                then 100.0 * moving_time_s * power(run_speed_mps / threshold_speed_mps, 2) / 3600
        end as running_tss,
        case
            when trimp_per_min is not null and threshold_trimp_per_min > 0
                then 100.0 * (moving_time_s / 60.0) * trimp_per_min
                    / (60.0 * threshold_trimp_per_min)
        end as hr_tss

    from trimp_rates

),

final as (

    select
        activity_id,
        local_date,
        sport_group,
        normalized_power_w,
        case
            when power_tss is not null then normalized_power_w / ftp_watts
            when running_tss is not null then run_speed_mps / threshold_speed_mps
        end as intensity_factor,
        round(power_tss, 2) as power_tss,
        round(running_tss, 2) as running_tss,
        round(hr_tss, 2) as hr_tss,
        suffer_score,
        round(coalesce(power_tss, running_tss, hr_tss, 0), 2) as training_load,
        case
            when power_tss is not null then 'power'
            when running_tss is not null then 'pace'
            when hr_tss is not null then 'heartrate'
            else 'none'
        end as training_load_method

    from loads

)

select * from final
