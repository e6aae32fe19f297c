"""The run tags the project writes and reads, and the range of days a run covers.

Dagster's own tags say which partitions a run covers; ours mark what the budget did to a run, so
the resume sensor, the status page and the CLI read the same names.
"""

from collections.abc import Mapping

import dagster as dg

# Dagster's: a ranged run (single-run backfill policy) names its first and last partition.
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
PARTITION = "dagster/partition"
BACKFILL = "dagster/backfill"

# Ours.
BUDGET_STOPPED = "strava-datastack/budget-stopped"  # "true": the daily budget ran out mid-range
RESUME_AFTER = "strava-datastack/resume-after"  # ISO time the budget resets
RANGE_INCOMPLETE = "strava-datastack/range-incomplete"  # which days are missing, in plain words
DAILY_REFRESH = "strava-datastack/daily-refresh"  # "true": may spend the daily reserve
CONTINUES = "strava-datastack/continues-run"  # the budget-stopped run this one continues
CONTINUES_BACKFILL = "strava-datastack/continues-backfill"  # the backfill it belongs to
SOURCE = "strava-datastack/source"  # who launched it outside Dagster (e.g. "demo")


def range_tags(first_day: str, last_day: str) -> dict[str, str]:
    """Tags that make a run cover the days ``first_day``..``last_day`` (both included)."""
    return {RANGE_START: first_day, RANGE_END: last_day}


def run_range(tags: Mapping[str, str]) -> tuple[str, str] | None:
    """The first and last day a run covers, from its tags; None for an unpartitioned run."""
    if RANGE_START in tags and RANGE_END in tags:
        return tags[RANGE_START], tags[RANGE_END]
    if PARTITION in tags:
        return tags[PARTITION], tags[PARTITION]
    return None


def budget_stopped_runs() -> dg.RunsFilter:
    """Runs the daily budget stopped with days of their range still to load. Such a run ends
    failed (so the CLI's exit status says the range is incomplete) after reporting the days it
    completed; a stopped run of an older version ended succeeded."""
    return dg.RunsFilter(
        tags={BUDGET_STOPPED: "true"},
        statuses=[dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE],
    )
