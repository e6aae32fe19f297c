with

source as (

    select * from {{ raw_source('files', 'gear') }}

),

renamed as (

    select
        -- the archive's own key ('bike:<name>'); activities refer to gear by name
        cast(gear_id as varchar) as archive_gear_key,
        cast(kind as varchar) as gear_kind,
        cast(name as varchar) as gear_name,
        nullif(cast(brand as varchar), '') as brand_name,
        nullif(cast(model as varchar), '') as model_name

    from source

)

select * from renamed
