-- Longest and current streaks of active days and weeks (marts.rpt_streak_summary).
select
    streak_type,
    longest_length,
    longest_start,
    longest_end,
    current_length,
    current_start
from marts.rpt_streak_summary
