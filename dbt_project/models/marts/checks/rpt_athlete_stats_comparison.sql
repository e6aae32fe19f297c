{#
    Our totals against Strava's own (/athletes/{id}/stats) for the periods both can count: year to
    date ('ytd') and all time ('all'), per sport (ride, run, swim). We count as Strava does:
    Everyone-visible activities only, grouped by the legacy activity `type` (ride = Ride,
    VirtualRide, EBikeRide, which covers gravel and mountain-bike rides; run = Run, VirtualRun,
    which covers trail runs; swim = Swim), started before the stats were fetched; year to date
    is the athlete's local year at that moment. The Dagster asset check fails when a row does not
    match.

    The export archive and device files say nothing about visibility, so an activity known only
    from them may or may not be in Strava's totals: a row with any such activity
    (`unknown_visibility_count` > 0) cannot be compared. Once the API lists those days, the
    listing's visibility wins (int_activities) and the row becomes comparable.
#}

with

stats as (

    select * from {{ ref('stg_strava__athlete_stats') }}
    where period in ('ytd', 'all')

),

fetched as (

    select max(loaded_at_utc) as loaded_at_utc from stats

),

activities as (

    select
        *,
        case
            when activity_type in ('Ride', 'VirtualRide', 'EBikeRide') then 'ride'
            when activity_type in ('Run', 'VirtualRun') then 'run'
            when activity_type = 'Swim' then 'swim'
        end as stats_sport

    from {{ ref('fct_activities') }}
    where coalesce(visibility, 'unknown') in ('everyone', 'unknown')
        and start_at_utc <= coalesce((select loaded_at_utc from fetched), start_at_utc)

),

stats_year as (

    -- the athlete's local year when the stats were fetched (UTC offset of the latest activity)
    select
        cast(year(coalesce(
            (select loaded_at_utc from fetched)
                + to_seconds(cast(coalesce((
                    select arg_max(utc_offset_s, start_at_utc)
                    from {{ ref('int_activities') }}
                ), 0) as bigint)),
            current_date
        )) as integer) as ytd_year

),

ours as (

    select
        periods.period,
        activities.stats_sport as sport,
        count(*) filter (where activities.visibility = 'everyone') as activity_count,
        sum(activities.distance_m) filter (where activities.visibility = 'everyone')
            as distance_m,
        cast(sum(activities.moving_time_s) filter (where activities.visibility = 'everyone')
            as bigint) as moving_time_s,
        cast(sum(activities.elapsed_time_s) filter (where activities.visibility = 'everyone')
            as bigint) as elapsed_time_s,
        sum(coalesce(activities.elevation_gain_m, 0))
            filter (where activities.visibility = 'everyone') as elevation_gain_m,
        count(*) filter (where activities.visibility is null) as unknown_visibility_count

    from activities
    cross join stats_year
    inner join (select unnest(['ytd', 'all']) as period) as periods
        on periods.period = 'all' or activities.local_year = stats_year.ytd_year
    where activities.stats_sport is not null
    group by periods.period, activities.stats_sport

),

final as (

    select
        stats.period,
        stats.sport,
        stats_year.ytd_year,
        stats.activity_count as strava_activity_count,
        coalesce(ours.activity_count, 0) as our_activity_count,
        stats.distance_m as strava_distance_m,
        coalesce(ours.distance_m, 0) as our_distance_m,
        stats.moving_time_s as strava_moving_time_s,
        coalesce(ours.moving_time_s, 0) as our_moving_time_s,
        stats.elevation_gain_m as strava_elevation_gain_m,
        coalesce(ours.elevation_gain_m, 0) as our_elevation_gain_m,
        coalesce(ours.unknown_visibility_count, 0) as unknown_visibility_count,
        stats.activity_count = coalesce(ours.activity_count, 0) as count_matches,
        -- Strava rounds its totals; allow 0.1 % (at least 1 m / 1 s)
        abs(stats.distance_m - coalesce(ours.distance_m, 0))
            <= greatest(1.0, 0.001 * stats.distance_m) as distance_matches,
        abs(stats.moving_time_s - coalesce(ours.moving_time_s, 0))
            <= greatest(1.0, 0.001 * stats.moving_time_s) as moving_time_matches

    from stats
    cross join stats_year
    left join ours on stats.period = ours.period and stats.sport = ours.sport

),

with_verdict as (

    select
        *,
        count_matches and distance_matches and moving_time_matches as is_match

    from final

)

select * from with_verdict
