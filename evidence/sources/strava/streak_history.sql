-- Every streak of two or more active days or weeks (marts.fct_streaks).
select streak_id, streak_type, streak_start, streak_end, streak_length, is_current, is_longest
from marts.fct_streaks
where streak_length >= 2
order by streak_start
