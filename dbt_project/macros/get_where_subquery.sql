{#-
    dbt's `where` config for data tests, plus one placeholder: `__in_run_window__` becomes "the
    row's activity started inside the run's window" (or `true` on a full build). Tests on the
    large stream-derived tables use it so a daily run tests the day it built, not all history.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- if '__in_run_window__' in where -%}
            {%- set where = where | replace('__in_run_window__', in_run_window_predicate()) -%}
        {%- endif -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{% macro in_run_window_predicate() -%}
    {%- if has_window() -%}
        {%- set activities = api.Relation.create(
            database=target.database, schema='staging', identifier='stg_strava__activities'
        ) -%}
        activity_id in (
            select activity_id from {{ activities }} where {{ in_window('start_at_utc') }}
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
