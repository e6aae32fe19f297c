{#-
    A stable negative id for a row computed from a file (a lap, a best effort), which Strava's
    API would have numbered: from the activity id, the kind of row and its key within the
    activity. md5 keeps it the same on every build and DuckDB version; negative, it never meets
    a Strava id; 60 bits make a collision within one athlete's history practically impossible.
-#}
{% macro synthetic_id(activity_id, kind, key) -%}
    -(cast('0x' || left(md5(cast({{ activity_id }} as varchar) || ':' || {{ kind }} || ':'
        || cast({{ key }} as varchar)), 15) as bigint) + 1)
{%- endmacro %}
