{#- The totals every period/sport aggregate of fct_activities reports. -#}
{% macro activity_totals() -%}
        count(*) as activity_count,
        sum(distance_km) as distance_km,
        cast(sum(moving_time_s) as bigint) as moving_time_s,
        sum(moving_time_s) / 3600.0 as moving_time_h,
        sum(elapsed_time_s) / 3600.0 as elapsed_time_h,
        coalesce(sum(elevation_gain_m), 0) as elevation_gain_m,
        sum(kilojoules) as kilojoules,
        sum(calories) as calories
{%- endmacro %}
