{#- Strava sport_type -> one of 'run', 'ride', 'swim', 'walk_hike', 'other'. -#}
{% macro sport_group(sport_type) -%}
    case
        when {{ sport_type }} in ('Run', 'TrailRun', 'VirtualRun') then 'run'
        when {{ sport_type }} in (
            'Ride', 'MountainBikeRide', 'GravelRide', 'EBikeRide', 'EMountainBikeRide',
            'VirtualRide', 'Velomobile', 'Handcycle'
        ) then 'ride'
        when {{ sport_type }} in ('Swim', 'OpenWaterSwim') then 'swim'
        when {{ sport_type }} in ('Walk', 'Hike') then 'walk_hike'
        else 'other'
    end
{%- endmacro %}

{#-
    Strava sport_type -> the legacy activity `type` the API still sends beside it (and by which
    Strava's athlete stats count rides and runs). The export archive and device files carry the
    sport only, so their activities get the type the API would give them: the sport types added
    in 2022 fold into their old type, every other sport type is its own type.
-#}
{% macro legacy_activity_type(sport_type) -%}
    case
        when {{ sport_type }} in ('MountainBikeRide', 'GravelRide') then 'Ride'
        when {{ sport_type }} = 'EMountainBikeRide' then 'EBikeRide'
        when {{ sport_type }} = 'TrailRun' then 'Run'
        when {{ sport_type }} in (
            'Badminton', 'HighIntensityIntervalTraining', 'Pickleball', 'Pilates', 'Racquetball',
            'Squash', 'TableTennis', 'Tennis', 'VirtualRow'
        ) then 'Workout'
        else {{ sport_type }}
    end
{%- endmacro %}
