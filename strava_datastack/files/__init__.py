"""The import folder: Strava's export archive and device files (FIT, GPX, TCX), zero requests.

`import_folder.scan` finds what the folder holds (ZIPs read in place), `activities_csv` reads the
archive's CSV in any language, `file_index` remembers which day each file covers,
`activity_file.parse_activity_file` reads one file into Strava-shaped samples and laps, `derived`
computes what Strava's API detail gives and a file does not, and `load` imports a window.
"""
