"""Reading what users drop into the import folder: export archives, their CSVs, activity files."""
