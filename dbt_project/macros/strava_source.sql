{#-
    `source('strava', table_name)`, or, while dlt has not created that table yet (a first run whose
    window had no laps, no best efforts, or no activities at all), an empty relation with the
    contract's columns and types, taken from the source's yml. Staging models read raw tables
    through this so that `dbt build` works on any partial warehouse.
-#}
{% macro strava_source(table_name) -%}
    {%- set relation = source('strava', table_name) -%}
    {%- if not execute -%}
        {{ relation }}
    {%- else -%}
        {%- set existing = adapter.get_relation(
            database=relation.database, schema=relation.schema, identifier=relation.identifier
        ) -%}
        {%- if existing is not none -%}
            {{ relation }}
        {%- else -%}
            {%- set node = graph.sources.values()
                | selectattr('source_name', 'equalto', 'strava')
                | selectattr('name', 'equalto', table_name)
                | first -%}
            (
                select
                    {%- for column in node.columns.values() %}
                    cast(null as {{ column.data_type }}) as {{ adapter.quote(column.name) }}
                    {{- "," if not loop.last }}
                    {%- endfor %}
                where false
            )
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
