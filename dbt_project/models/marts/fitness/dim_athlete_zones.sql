{#
    The zones time in zones is counted in (fct_activity_zones), per zone type: the athlete's
    Strava zones where the API has loaded them ('strava'); else, for a history from files only,
    'estimated' ones: heart rate in five zones split at 60, 70, 80 and 90 % of the max heart
    rate (var max_heartrate, else the highest recorded: macro max_heart_rate), power in Coggan's
    seven zones split at 55, 75, 90, 105, 120 and 150 % of FTP (var ftp_watts, else the FTP in
    the athlete's Strava settings). Not the FTP estimated from 20-minute power
    (dim_training_thresholds): that reads the windowed stream models, which these zones feed,
    and a zone definition that moved with every new best would recount every activity.
-#}

with

strava_zones as (

    select zone_type, zone, zone_min, zone_max, 'strava' as zones_source
    from {{ ref('stg_strava__athlete_zones') }}

),

max_heart_rate as (

    {{ max_heart_rate() }}

),

thresholds as (

    select
        max_heart_rate.max_hr,
        coalesce({{ number_var('ftp_watts') }}, athlete.ftp_watts) as ftp_watts

    from max_heart_rate
    cross join (select max(ftp_watts) as ftp_watts from {{ ref('stg_strava__athlete') }}) as athlete

),

-- each zone's lower and upper bound as a share of the threshold; the top zone has no upper one
shares (zone_type, zone, lower_share, upper_share) as (

    values
        ('heartrate', 1, 0.0, 0.6), ('heartrate', 2, 0.6, 0.7), ('heartrate', 3, 0.7, 0.8),
        ('heartrate', 4, 0.8, 0.9), ('heartrate', 5, 0.9, null),
        ('power', 1, 0.0, 0.55), ('power', 2, 0.55, 0.75), ('power', 3, 0.75, 0.9),
        ('power', 4, 0.9, 1.05), ('power', 5, 1.05, 1.2), ('power', 6, 1.2, 1.5),
        ('power', 7, 1.5, null)

),

estimated as (

    select
        shares.zone_type,
        shares.zone,
        cast(round(shares.lower_share * base.threshold) as bigint) as zone_min,
        cast(round(shares.upper_share * base.threshold) as bigint) as zone_max,
        'estimated' as zones_source

    from shares
    inner join (
        select 'heartrate' as zone_type, max_hr as threshold from thresholds
        union all
        select 'power' as zone_type, ftp_watts as threshold from thresholds
    ) as base on shares.zone_type = base.zone_type
    where base.threshold is not null
        and shares.zone_type not in (select zone_type from strava_zones)

),

final as (

    select * from strava_zones
    union all
    select * from estimated

)

select * from final
