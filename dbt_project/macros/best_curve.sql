{#- The body of rpt_power_curve / rpt_pace_curve: best `measure` per duration, all-time and per year. -#}
{% macro best_curve(measure, sport_group) %}

with

mean_max as (

    select * from {{ ref('fct_activity_mean_max') }}
    where {{ measure }} is not null

),

activities as (

    select activity_id, local_date, local_year
    from {{ ref('fct_activities') }}
    where sport_group = '{{ sport_group }}'

),

athlete as (

    select max(weight_kg) as weight_kg from {{ ref('stg_strava__athlete') }}

),

scoped as (

    select
        'all_time' as scope,
        cast(null as integer) as season_year,
        mean_max.*,
        activities.local_date
    from mean_max
    inner join activities on mean_max.activity_id = activities.activity_id

    union all

    select
        cast(activities.local_year as varchar) as scope,
        activities.local_year as season_year,
        mean_max.*,
        activities.local_date
    from mean_max
    inner join activities on mean_max.activity_id = activities.activity_id

),

ranked as (

    select
        *,
        row_number() over (
            partition by scope, duration_s
            order by {{ measure }} desc, local_date, activity_id
        ) as rank_in_scope

    from scoped

),

final as (

    select
        ranked.scope,
        ranked.season_year,
        ranked.duration_s,
        case
            when ranked.duration_s < 60 then ranked.duration_s || ' s'
            else (ranked.duration_s // 60) || ' min'
        end as duration_label,
        ranked.activity_id,
        ranked.local_date,
        {%- if measure == 'best_avg_watts' %}
        ranked.best_avg_watts,
        ranked.best_avg_watts / nullif(athlete.weight_kg, 0) as best_watts_per_kg
        {%- else %}
        ranked.best_speed_mps,
        ranked.best_speed_kmh,
        ranked.best_pace_min_per_km
        {%- endif %}

    from ranked
    cross join athlete
    where ranked.rank_in_scope = 1

)

select * from final

{% endmacro %}
