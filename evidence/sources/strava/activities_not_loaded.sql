-- Activities Strava would not give us, and why (site_status.activity_problems through the
-- activity_problems view of initialize.sql; no rows when every activity loaded).
select
    activity_id,
    -- as text: the page prints it inside a sentence, where a date would read as a timestamp
    strftime(start_day, '%-d %b %Y') as start_day,
    request,
    http_status,
    reason,
    attempts,
    state,
    case state
        when 'retrying' then 'retried by the next run covering its day'
        when 'needs_attention' then 'needs your attention: skipped until it changes on Strava'
        else 'deleted on Strava or private: not loaded'
    end as what_happens,
    last_seen_at_utc
from activity_problems
order by activity_problems.start_day, activity_id
