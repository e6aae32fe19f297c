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
