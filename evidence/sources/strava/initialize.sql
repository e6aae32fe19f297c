-- Run by the DuckDB connector before every source query in this folder (never exported).
-- Everything the site shows in distance, elevation, speed or pace goes through these macros, so
-- units follow the athlete's Strava `measurement_preference` ('meters' or 'feet') in one place.
--
-- The athlete_units view is defined three times, in order: metric by default, then the athlete
-- as staged, then the athlete mart once it exists. The first statement that fails stops the
-- script (the connector ignores the error), so the last definition that works wins; that is
-- why those views come last.
create or replace temp view athlete_units as
    select 'meters' as measurement_preference;

create or replace temp macro is_imperial() as
    (select any_value(measurement_preference) = 'feet' from athlete_units);
-- kilometres -> km or miles
create or replace temp macro dist(km) as
    km / (case when is_imperial() then 1.609344 else 1.0 end);
-- metres (elevation) -> m or ft
create or replace temp macro elev(m) as
    m * (case when is_imperial() then 3.280839895 else 1.0 end);
-- km/h -> km/h or mph
create or replace temp macro speed(kmh) as
    kmh / (case when is_imperial() then 1.609344 else 1.0 end);
-- min/km -> a duration per km or per mile as a fraction of a day, so pages format it '[m]:ss'
create or replace temp macro pace(min_per_km) as
    min_per_km * (case when is_imperial() then 1.609344 else 1.0 end) / 1440.0;
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
-- seconds -> fraction of a day, formatted '[h]:mm:ss' on the pages
create or replace temp macro dur(s) as
    s / 86400.0;

create or replace temp view athlete_units as
    select coalesce(any_value(measurement_preference), 'meters') as measurement_preference
    from staging.stg_strava__athlete;
create or replace temp view athlete_units as
    select coalesce(any_value(measurement_preference), 'meters') as measurement_preference
    from marts.dim_athlete;
