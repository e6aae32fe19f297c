-- Run by Evidence's DuckDB connector before every source query in this folder (never exported
-- itself). Two jobs:
--
-- 1. Units. Everything the site shows in distance, elevation, speed or pace goes through the
--    macros below, so the site follows the athlete's Strava `measurement_preference`
--    ('meters' or 'feet') in one place.
-- 2. Optional tables. A source query that names a missing table fails the whole export, so
--    tables that may not exist yet in a warehouse are read through views that fall back to an
--    empty (or default) result: `set variable` picks the SQL text, `query()` runs it.

-- The athlete's unit preference: the athlete mart when there is one, else the staged athlete
-- (a view), else metric.
create or replace temp view relations as
    select schema_name || '.' || table_name as name from duckdb_tables()
    union all
    select schema_name || '.' || view_name from duckdb_views();
set variable athlete_units_sql = (
    select case
        when bool_or(name = 'marts.dim_athlete')
            then 'select coalesce(any_value(measurement_preference), ''meters'') as measurement_preference from marts.dim_athlete'
        when bool_or(name = 'staging.stg_strava__athlete')
            then 'select coalesce(any_value(measurement_preference), ''meters'') as measurement_preference from staging.stg_strava__athlete'
        else 'select ''meters'' as measurement_preference'
    end
    from relations
);
create or replace temp view athlete_units as
    select * from query(getvariable('athlete_units_sql'));

create or replace temp macro is_imperial() as
    (select any_value(measurement_preference) = 'feet' from athlete_units);
-- The marts are metric (km, m, km/h, min/km); these are the only metric -> imperial
-- conversions of the project. The `_in` forms take the unit system as an argument (splits come
-- in both, per split); the short forms follow the athlete's preference.
-- kilometres -> km, or miles when `imperial`
create or replace temp macro dist_in(km, imperial) as
    km / (case when imperial then 1.609344 else 1.0 end);
-- metres (elevation) -> m, or ft when `imperial`
create or replace temp macro elev_in(m, imperial) as
    m * (case when imperial then 3.280839895 else 1.0 end);
-- km/h -> km/h, or mph when `imperial`
create or replace temp macro speed_in(kmh, imperial) as
    kmh / (case when imperial then 1.609344 else 1.0 end);
-- min/km -> a duration per km (or per mile when `imperial`) as a fraction of a day, so pages
-- format it '[m]:ss'
create or replace temp macro pace_in(min_per_km, imperial) as
    min_per_km * (case when imperial then 1.609344 else 1.0 end) / 1440.0;
-- km/h -> the time per 100 m (or per 100 yd when `imperial`) as a fraction of a day, formatted
-- '[m]:ss': swimmers read pace per 100 of the pool's unit, not per km
create or replace temp macro swim_pace_in(kmh, imperial) as
    case when kmh > 0 then (case when imperial then 0.09144 else 0.1 end) / kmh / 24.0 end;
create or replace temp macro dist(km) as dist_in(km, is_imperial());
create or replace temp macro elev(m) as elev_in(m, is_imperial());
create or replace temp macro speed(kmh) as speed_in(kmh, is_imperial());
create or replace temp macro pace(min_per_km) as pace_in(min_per_km, is_imperial());
create or replace temp macro swim_pace(kmh) as swim_pace_in(kmh, is_imperial());
-- How a sport's speed is read, as Strava shows it: 'pace' (per km or mile) on foot,
-- 'swim_pace' (per 100 m or yd) in the water, 'speed' (km/h or mph) for everything else.
create or replace temp macro speed_kind(g) as
    case g when 'run' then 'pace' when 'walk_hike' then 'pace' when 'swim' then 'swim_pace'
        else 'speed' end;
-- Strava (and every device file) counts cadence on foot in strides per minute, one foot only;
-- runners read steps per minute, so on foot it doubles (spm). A ride's cadence stays rpm.
create or replace temp macro cadence_of(c, g) as
    c * (case when g in ('run', 'walk_hike') then 2 else 1 end);
-- (a swimmer's cadence is strokes per minute)
create or replace temp macro cadence_unit(g) as
    case when g in ('run', 'walk_hike') then 'spm' when g = 'swim' then 'strokes/min'
        else 'rpm' end;
-- seconds -> fraction of a day, formatted '[h]:mm:ss' on the pages (moving time is shown so
-- everywhere: the pages take the format from components/formats.js)
create or replace temp macro dur(s) as
    s / 86400.0;
-- sport group -> the label the pages show (one colour per label, see components/sports.js)
create or replace temp macro sport_label(g) as
    case g
        when 'run' then 'Run'
        when 'ride' then 'Ride'
        when 'swim' then 'Swim'
        when 'walk_hike' then 'Walk & hike'
        when 'all' then 'All sports'
        else 'Other'
    end;

-- dlt's own record of every load into the warehouse (schema `strava`, written by the pipeline).
set variable dlt_loads_sql = (
    select case
        when bool_or(name = 'strava._dlt_loads')
            -- qualified with the catalog, whatever the file is called (a `strava` catalog would clash)
            then 'select load_id, status, timezone(''UTC'', inserted_at) as inserted_at_utc from "'
                || current_database() || '".strava._dlt_loads'
        else 'select cast(null as varchar) as load_id, cast(null as bigint) as status, cast(null as timestamp) as inserted_at_utc where false'
    end
    from relations
);
create or replace temp view dlt_loads as
    select * from query(getvariable('dlt_loads_sql'));

-- Sync and budget status (one row): Dagster partitions and the Strava request budget, exported
-- into the warehouse as site_status.data_status by the site asset (not a dbt model). Until that table exists the view
-- is empty and the Data status page says so. Columns the page reads:
--   history_start_date, partitions_total, partitions_loaded, partitions_missing,
--   last_sync_at_utc, requests_used_today, daily_request_limit, backfill_days_remaining,
--   expected_completion_date, first_loaded_date, last_loaded_date, missing_inside_loaded,
--   ytd_complete, last_ytd_complete, all_complete, archive_first_day
set variable data_status_sql = (
    select case
        when bool_or(name = 'site_status.data_status')
            then 'select history_start_date, partitions_total, partitions_loaded, partitions_missing, last_sync_at_utc, requests_used_today, daily_request_limit, backfill_days_remaining, expected_completion_date, first_loaded_date, last_loaded_date, missing_inside_loaded, ytd_complete, last_ytd_complete, all_complete, archive_first_day from site_status.data_status'
        else 'select cast(null as date) as history_start_date, cast(null as bigint) as partitions_total, cast(null as bigint) as partitions_loaded, cast(null as bigint) as partitions_missing, cast(null as timestamp) as last_sync_at_utc, cast(null as bigint) as requests_used_today, cast(null as bigint) as daily_request_limit, cast(null as bigint) as backfill_days_remaining, cast(null as date) as expected_completion_date, cast(null as date) as first_loaded_date, cast(null as date) as last_loaded_date, cast(null as bigint) as missing_inside_loaded, cast(null as boolean) as ytd_complete, cast(null as boolean) as last_ytd_complete, cast(null as boolean) as all_complete, cast(null as date) as archive_first_day where false'
    end
    from relations
);
create or replace temp view data_status as
    select * from query(getvariable('data_status_sql'));

-- Files of the import folder that could not be imported (a row per file, with the reason in
-- plain words), exported as site_status.import_problems by the site asset from the folder's
-- index. Empty until that table exists.
set variable import_problems_sql = (
    select case
        when bool_or(name = 'site_status.import_problems')
            then 'select file_key, file_format, reason, last_changed_at_utc from site_status.import_problems'
        else 'select cast(null as varchar) as file_key, cast(null as varchar) as file_format, cast(null as varchar) as reason, cast(null as timestamp) as last_changed_at_utc where false'
    end
    from relations
);
create or replace temp view import_problems as
    select * from query(getvariable('import_problems_sql'));

-- Activities Strava would not give us (a row per activity: the request, its HTTP status and
-- the reason), exported as site_status.activity_problems by the site asset from the data
-- folder's activity_problems.sqlite. Empty until that table exists.
set variable activity_problems_sql = (
    select case
        when bool_or(name = 'site_status.activity_problems')
            then 'select activity_id, start_day, request, http_status, reason, attempts, state, last_seen_at_utc from site_status.activity_problems'
        else 'select cast(null as bigint) as activity_id, cast(null as date) as start_day, cast(null as varchar) as request, cast(null as integer) as http_status, cast(null as varchar) as reason, cast(null as integer) as attempts, cast(null as varchar) as state, cast(null as timestamp) as last_seen_at_utc where false'
    end
    from relations
);
create or replace temp view activity_problems as
    select * from query(getvariable('activity_problems_sql'));
