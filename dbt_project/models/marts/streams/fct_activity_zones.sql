{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='activity_id',
        on_schema_change='sync_all_columns',
        post_hook=["{{ delete_orphaned_activities() }}"]
    )
}}

-- depends_on: {{ ref('int_activities') }}

{#
    Time in the athlete's heart-rate and power zones, per activity, from the streams. Moving
    samples only, as Strava counts time in zones (a recording without a moving stream counts
    every sample). Every zone of a type gets a row (0 s included) when the activity has that
    stream. Zones are the athlete's current ones (Strava keeps no history), or estimated from
    the thresholds for a history from files only (dim_athlete_zones).

    Incremental by the run's window, except when the zones differ from those the table was
    built with (`zones_key`): then every activity is done again, once. That is how activities
    imported from the export archive before the API first loaded the athlete's zones get
    Strava's, and how changed (or re-estimated) zones reach old activities, without a full
    refresh.
-#}

with

zones as (

    select * from {{ ref('dim_athlete_zones') }}

),

current_zones as (

    select
        md5(coalesce(string_agg(
            concat_ws(':', zone_type, zone, zone_min, coalesce(cast(zone_max as varchar), '')),
            ',' order by zone_type, zone
        ), '')) as zones_key

    from zones

),

samples as (

    select
        *,
        coalesce(is_moving, true) as counts_in_zones

    from {{ ref('fct_activity_stream_samples') }}
    where {{ activity_in_run_scope('activity_id') }}
    {%- if is_incremental() %}
        or (
            exists (select 1 from zones)
            and not exists (
                select 1 from {{ this }}
                where zones_key = (select zones_key from current_zones)
            )
        )
    {%- endif %}

),

measured as (

    select
        activity_id, 'heartrate' as zone_type, heartrate_bpm as value, sample_duration_s,
        counts_in_zones
    from samples
    where heartrate_bpm is not null

    union all

    select activity_id, 'power' as zone_type, watts as value, sample_duration_s, counts_in_zones
    from samples
    where watts is not null

),

in_zone as (

    select
        measured.activity_id,
        measured.zone_type,
        zones.zone,
        cast(sum(measured.sample_duration_s) as bigint) as time_s

    from measured
    inner join zones
        on measured.zone_type = zones.zone_type
        and measured.value >= zones.zone_min
        and (zones.zone_max is null or measured.value < zones.zone_max)
    where measured.counts_in_zones
    group by measured.activity_id, measured.zone_type, zones.zone

),

activity_zone_types as (

    select distinct activity_id, zone_type from measured

),

all_zones as (

    select
        activity_zone_types.activity_id,
        zones.zone_type,
        zones.zone,
        zones.zone_min,
        zones.zone_max

    from activity_zone_types
    inner join zones on activity_zone_types.zone_type = zones.zone_type

),

final as (

    select
        all_zones.activity_id,
        all_zones.zone_type,
        all_zones.zone,
        all_zones.zone_min,
        all_zones.zone_max,
        coalesce(in_zone.time_s, 0) as time_s,
        coalesce(in_zone.time_s, 0) * 1.0
            / nullif(sum(coalesce(in_zone.time_s, 0)) over (
                partition by all_zones.activity_id, all_zones.zone_type
            ), 0) as time_share,
        (select zones_key from current_zones) as zones_key

    from all_zones
    left join in_zone
        on all_zones.activity_id = in_zone.activity_id
        and all_zones.zone_type = in_zone.zone_type
        and all_zones.zone = in_zone.zone

)

select * from final
