with

zones as (

    select * from {{ ref('fct_activity_zones') }}

),

activities as (

    select activity_id, local_week, sport_group from {{ ref('fct_activities') }}

),

weekly as (

    select
        activities.local_week,
        zones.zone_type,
        zones.zone,
        min(zones.zone_min) as zone_min,
        max(zones.zone_max) as zone_max,
        cast(sum(zones.time_s) as bigint) as time_s

    from zones
    inner join activities on zones.activity_id = activities.activity_id
    group by activities.local_week, zones.zone_type, zones.zone

),

final as (

    select
        local_week,
        zone_type,
        zone,
        'Z' || zone as zone_label,
        zone_min,
        zone_max,
        time_s,
        time_s / 3600.0 as time_h,
        time_s * 1.0 / nullif(sum(time_s) over (partition by local_week, zone_type), 0)
            as time_share

    from weekly

)

select * from final
