{#- The activities.csv columns the models use beyond files.activities (the raw table keeps all). -#}
with

source as (

    select * from {{ raw_source('files', 'archive_activities') }}

),

renamed as (

    select
        cast(activity_id as bigint) as activity_id,
        cast(activity_type as varchar) as activity_type_as_exported,
        nullif(cast(activity_private_note as varchar), '') as private_note,
        cast(elevation_high as double) as elev_high_m,
        cast(elevation_low as double) as elev_low_m,
        cast(weighted_average_power as double) as weighted_avg_watts,
        -- Relative Effort (the precise column) is the API's suffer_score
        cast(relative_effort as double) as suffer_score,
        cast(perceived_exertion as double) as perceived_exertion,
        cast(from_upload as boolean) as is_from_upload

    from source

)

select * from renamed
