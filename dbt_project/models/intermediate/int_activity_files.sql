{#
    Which original file gives an activity its samples, laps, splits and best efforts: one file
    per activity. An archive row's own upload first (it is the file Strava itself read); else a
    loose device file matched to the activity (the nearest start, then the lower id); an
    unmatched loose file is its own activity. `file_activity_id` is the id the file's rows carry
    in the `files` tables, `activity_id` the id they are shown under.
#}

with

file_activities as (

    select * from {{ ref('stg_files__activities') }}
    where sample_count > 0

),

matches as (

    select * from {{ ref('int_file_activity_matches') }}

),

candidates as (

    -- archive rows with their upload, and unmatched loose files: the file is the activity
    select
        file_activities.activity_id,
        file_activities.activity_id as file_activity_id,
        file_activities.file_key,
        0 as preference,
        0 as start_gap_s

    from file_activities
    where file_activities.origin = 'archive'
        or file_activities.activity_id not in (select file_activity_id from matches)

    union all

    -- loose files recorded the same activity as a Strava one
    select
        matches.activity_id,
        file_activities.activity_id as file_activity_id,
        file_activities.file_key,
        1 as preference,
        matches.start_gap_s

    from matches
    inner join file_activities on matches.file_activity_id = file_activities.activity_id

),

ranked as (

    select
        *,
        row_number() over (
            partition by activity_id order by preference, start_gap_s, file_activity_id
        ) as choice

    from candidates

),

final as (

    select activity_id, file_activity_id, file_key
    from ranked
    where choice = 1

)

select * from final
