{#-
    `source(source_name, table_name)`, or, while dlt has not created that table yet, an empty
    relation with the columns and types the source's yml declares. Staging models read raw
    tables through this so that `dbt build` works on any partial warehouse: a first API run whose
    window had no laps, or an athlete who never imported a file (no `files` tables at all), or
    one who never connected the API (no `strava` tables).
-#}
{% macro raw_source(source_name, table_name) -%}
    {%- set relation = source(source_name, table_name) -%}
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
                | selectattr('source_name', 'equalto', source_name)
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
