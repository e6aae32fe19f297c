-- Files of the import folder that could not be imported, and why (site_status.import_problems
-- through the import_problems view of initialize.sql; no rows when every file imported).
select
    file_key,
    -- the name alone, for the page; the key says where it is (folder path, `!member` in a ZIP)
    regexp_extract(file_key, '([^/!]+)$', 1) as file_name,
    file_format,
    reason,
    last_changed_at_utc
from import_problems
order by file_key
