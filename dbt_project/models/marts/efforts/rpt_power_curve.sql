{#
    Mean-maximal power curve of rides: best average power for each standard duration, all-time
    (`scope` = 'all_time') and per season (`scope` = the year, e.g. '2024'), with the activity
    that set it and watts per kilogram at the athlete's current weight.
-#}

{{ best_curve('best_avg_watts', 'ride') }}
