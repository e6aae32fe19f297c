{#-
    Activities Strava no longer lists (deleted there): the API's own rows, flagged when a listing
    of their window lacked them, and export-archive activities a later listing lacked (deleted
    on Strava after the export). int_activities drops the archive's row of each.
-#}

with

source as (

    select * from {{ raw_source('strava', 'activities') }}

),

final as (

    select
        cast(id as bigint) as activity_id,
        cast(start_date as timestamp) as start_at_utc

    from source
    where coalesce(cast(is_deleted as boolean), false)

)

select * from final
