{#-
    The athlete's max heart rate and where it came from, as one row (max_hr, max_hr_source):
    var max_heartrate ('configured'), else the highest recorded in fct_activities ('estimated').
    The one rule, read by dim_training_thresholds and dim_athlete_zones.
-#}
{% macro max_heart_rate() -%}
    select
        coalesce({{ number_var('max_heartrate') }}, max(max_heartrate)) as max_hr,
        case
            when {{ number_var('max_heartrate') }} is not null then 'configured'
            when max(max_heartrate) is not null then 'estimated'
        end as max_hr_source

    from {{ ref('fct_activities') }}
{%- endmacro %}
