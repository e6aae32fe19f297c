{#-
    Data tests on the large stream-derived tables test only what the run built: a daily run the
    activities of its day, a full build everything. Their `where` config is the placeholder
    `__in_run_window__`, because a test's `where` is rendered without the project's macros (dbt
    allows only var() and env_var() there), so the window predicate cannot be written into it.

    `where_subquery_with_run_window` is dbt's `where` handling plus that placeholder. It reaches
    dbt through dispatch: every generic test wraps its model in dbt's `get_where_subquery`, which
    calls `adapter.dispatch('get_where_subquery', 'dbt')`; dispatch looks for
    `duckdb__get_where_subquery` before dbt's own `default__get_where_subquery`, and finds ours.
    That one-line hook is the only place this project plugs into dbt's test materialization.
-#}
{% macro duckdb__get_where_subquery(relation) -%}
    {%- do return(where_subquery_with_run_window(relation)) -%}
{%- endmacro %}

{% macro where_subquery_with_run_window(relation) -%}
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

{#- The row's activity started inside the run's window; `true` on a full build. -#}
{% macro in_run_window_predicate() -%}
    {%- if has_window() -%}
        {%- set activities = api.Relation.create(
            database=target.database, schema='intermediate', identifier='int_activities'
        ) -%}
        activity_id in (
            select activity_id from {{ activities }} where {{ in_window('start_at_utc') }}
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
