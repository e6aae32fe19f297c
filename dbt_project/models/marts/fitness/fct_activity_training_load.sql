{#
    Training load of each activity, by the best method its data allows:
    - power: TSS = seconds x NP x IF / (FTP x 3600) x 100, when the activity has measured power
      (normalized power from the streams, else Strava's weighted average power) and the athlete
      has an FTP;
    - heartrate: Banister TRIMP = minutes x HRr x 0.64 e^(1.92 HRr) (0.86 e^(1.67 HRr) for
      women), HRr = (avg HR - resting) / (max - resting), resting from var `resting_heartrate`,
      max from var `max_heartrate` or else the highest max_heartrate recorded;
    - suffer_score: Strava's relative effort;
    - none: 0.
-#}

with

activities as (

    select * from {{ ref('fct_activities') }}

),

stream_metrics as (

    select activity_id, normalized_power_w, has_power_stream
    from {{ ref('fct_activity_stream_metrics') }}

),

athlete as (

    select
        max(ftp_watts) as ftp_watts,
        coalesce(max(case when sex = 'F' then true end), false) as is_female

    from {{ ref('stg_strava__athlete') }}

),

heart_rate_bounds as (

    select
        cast({{ var('resting_heartrate') }} as double) as resting_hr,
        {%- if var('max_heartrate', none) is not none %}
        cast({{ var('max_heartrate') }} as double) as max_hr
        {%- else %}
        cast(max(max_heartrate) as double) as max_hr
        {%- endif %}

    from activities

),

inputs as (

    select
        activities.activity_id,
        activities.local_date,
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
        athlete.ftp_watts,
        athlete.is_female,
        case
            when activities.avg_heartrate > 0
                and heart_rate_bounds.max_hr > heart_rate_bounds.resting_hr
                then least(greatest(
                    (activities.avg_heartrate - heart_rate_bounds.resting_hr)
                    / (heart_rate_bounds.max_hr - heart_rate_bounds.resting_hr),
                    0), 1)
        end as heart_rate_reserve

    from activities
    left join stream_metrics on activities.activity_id = stream_metrics.activity_id
    cross join athlete
    cross join heart_rate_bounds

),

loads as (

    select
        *,
        case
            when normalized_power_w > 0 and ftp_watts > 0
                then moving_time_s * normalized_power_w * normalized_power_w
                    / (ftp_watts * ftp_watts * 36.0)
        end as power_tss,
        case
            when heart_rate_reserve is not null
                then moving_time_s / 60.0 * heart_rate_reserve
                    * case
                        when is_female then 0.86 * exp(1.67 * heart_rate_reserve)
                        else 0.64 * exp(1.92 * heart_rate_reserve)
                    end
        end as hr_trimp

    from inputs

),

final as (

    select
        activity_id,
        local_date,
        sport_group,
        normalized_power_w,
        normalized_power_w / nullif(ftp_watts, 0) as intensity_factor,
        power_tss,
        hr_trimp,
        suffer_score,
        coalesce(power_tss, hr_trimp, suffer_score, 0) as training_load,
        case
            when power_tss is not null then 'power'
            when hr_trimp is not null then 'heartrate'
            when suffer_score is not null then 'suffer_score'
            else 'none'
        end as load_method

    from loads

)

select * from final
