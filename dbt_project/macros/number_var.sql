{#- A numeric dbt var as a SQL double, NULL when the var is unset (null): an optional setting. -#}
{% macro number_var(name) -%}
    {%- set value = var(name, none) -%}
    cast({{ 'null' if value is none else value }} as double)
{%- endmacro %}
