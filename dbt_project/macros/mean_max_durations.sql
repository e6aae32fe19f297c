{#- Standard durations (seconds) of the mean-maximal power and pace curves: 5 s ... 60 min. -#}
{% macro mean_max_durations() -%}
    {{ return([5, 10, 15, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600]) }}
{%- endmacro %}
