{#
    Mean-maximal pace curve of runs: the most distance covered in each standard duration, as
    speed and pace, all-time (`scope` = 'all_time') and per season (`scope` = the year).
-#}

{{ best_curve('best_speed_mps', 'run') }}
