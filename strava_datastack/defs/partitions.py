"""The daily partitions shared by every partitioned asset (ingest and dbt).

A partition is one UTC day of activity start times; a run over a range of partitions asks Strava
for exactly that after/before window. Sharing one definition keeps the ingest and dbt partitions
aligned, which is what lets one run (or one backfill) carry a range through the whole graph.
"""

from __future__ import annotations

import os

import dagster as dg

# Strava opened in 2009: from then on, any athlete's history is inside the partitions, so
# "backfill all missing" gets all of it without a setting. Empty years cost little: a range run
# lists its window's activities in pages of 200, so years without activities cost one request.
DEFAULT_HISTORY_START = "2009-01-01"


def history_start() -> str:
    """First day of history; ``STRAVA_DATASTACK_HISTORY_START`` (YYYY-MM-DD) moves it earlier."""
    return os.environ.get("STRAVA_DATASTACK_HISTORY_START") or DEFAULT_HISTORY_START


# end_offset=1: today is a partition too, so the daily schedule can load today's activities.
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=history_start(), end_offset=1, timezone="UTC"
)

# One DuckDB process may write at a time; every asset that writes the warehouse takes this pool
# (dagster.yaml limits it to one slot).
DUCKDB_WRITER_POOL = "duckdb_writer"


def is_dated(context: dg.AssetExecutionContext, key: dg.AssetKey) -> bool:
    """Whether ``key`` of the running multi-asset is daily-partitioned (its specs say)."""
    return context.assets_def.specs_by_key[key].partitions_def is not None
