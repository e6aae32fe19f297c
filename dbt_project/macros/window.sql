{#-
    The partition window of a Dagster run, passed as
    `--vars '{"window_start": "YYYY-MM-DD", "window_end": "YYYY-MM-DD"}'` (UTC dates, end
    exclusive). Without it (full builds) every activity is in the window.
-#}
{% macro has_window() -%}
    {{ return(var('window_start', none) is not none) }}
{%- endmacro %}

{% macro window_start_literal() -%}
    cast('{{ var("window_start") }}' as timestamp)
{%- endmacro %}

{% macro window_end_literal() -%}
    {%- if var('window_end', none) is not none -%}
        cast('{{ var("window_end") }}' as timestamp)
    {%- else -%}
        (cast('{{ var("window_start") }}' as timestamp) + interval 1 day)
    {%- endif -%}
{%- endmacro %}

{#- SQL predicate: `column` (a UTC timestamp) lies in the run's window; `true` without one. -#}
{% macro in_window(column) -%}
    {%- if has_window() -%}
        ({{ column }} >= {{ window_start_literal() }} and {{ column }} < {{ window_end_literal() }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#-
    SQL predicate for stream-derived incremental models: the activity is one this run must
    (re)process. On an incremental run with a window: activities that started inside it. Otherwise
    (first build, full refresh, or a run without window vars): every activity.
-#}
{% macro activity_in_run_scope(activity_id_column) -%}
    {%- if is_incremental() and has_window() -%}
        {{ activity_id_column }} in (
            select activity_id
            from {{ ref('int_activities') }}
            where {{ in_window('start_at_utc') }}
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#-
    Post-hook for stream-derived incremental models: drop rows of activities that no longer exist
    (deleted on Strava since they were processed), which delete+insert alone would keep.
-#}
{% macro delete_orphaned_activities() -%}
    delete from {{ this }} as t
    where not exists (
        select 1 from {{ ref('int_activities') }} as a where a.activity_id = t.activity_id
    )
{%- endmacro %}

{#- Reference day for "today", year-to-date and current streaks. -#}
{% macro as_of_date() -%}
    {%- if var('as_of_date', none) is not none -%}
        cast('{{ var("as_of_date") }}' as date)
    {%- else -%}
        current_date
    {%- endif -%}
{%- endmacro %}
