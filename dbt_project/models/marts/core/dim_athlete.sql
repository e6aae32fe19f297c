{#
    The athlete, one row: profile, FTP and weight for power and fitness, and the unit preference
    the site follows ('meters' = metric, 'feet' = imperial).
#}

with

athlete as (

    select * from {{ ref('stg_strava__athlete') }}

),

final as (

    select
        athlete_id,
        first_name,
        last_name,
        city,
        country,
        sex,
        weight_kg,
        ftp_watts,
        coalesce(measurement_preference, 'meters') as measurement_preference,
        coalesce(measurement_preference, 'meters') = 'feet' as prefers_imperial,
        created_at_utc

    from athlete

)

select * from final
