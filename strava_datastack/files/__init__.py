"""Activity files (FIT, GPX, TCX, gzipped or not) read into the shapes of Strava's streams and laps.

`activity_file.parse_activity_file` is the one entry point; `derived` computes what Strava's API
detail gives and a file does not (moving time, elevation gain, splits, best efforts).
"""
