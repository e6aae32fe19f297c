"""What keeps the warehouse fresh without anyone clicking: the daily refresh, resuming backfills
the daily budget stopped, and a plain-words note on every failed run."""

import hashlib
import os
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import dagster as dg

from strava_datastack import paths
from strava_datastack.defs import run_tags
from strava_datastack.defs.ingest.assets import STRAVA_ERROR
from strava_datastack.defs.partitions import daily_partitions
from strava_datastack.files.activity_file import peek_start
from strava_datastack.files.file_index import FileIndex
from strava_datastack.files.import_folder import scan as scan_import_folder
from strava_datastack.strava.budget import budget_clock

DEFAULT_LOOKBACK_DAYS = 7

ingest_and_transform = dg.define_asset_job(
    "ingest_and_transform",
    selection=dg.AssetSelection.groups("ingest", "transform"),
    description="Strava → warehouse → dbt models for a range of days, in one run.",
)

import_files = dg.define_asset_job(
    "import_files",
    selection=dg.AssetSelection.groups("files", "transform"),
    description="Import folder (export archive, FIT/GPX/TCX files) → warehouse → dbt models for "
    "a range of days, in one run. No Strava request.",
)

build_site = dg.define_asset_job(
    "build_site",
    selection=dg.AssetSelection.groups("bi"),
    description="Builds the Evidence site from the warehouse snapshot the dbt models left.",
)


def refresh_range(day: datetime, lookback_days: int) -> tuple[str, str]:
    """The partitions a daily refresh loads: `day` and the `lookback_days` before it.

    The lookback catches late uploads and edits made on Strava to recent activities.
    """
    first = day - timedelta(days=lookback_days)
    return first.strftime("%Y-%m-%d"), day.strftime("%Y-%m-%d")


@dg.schedule(
    job=ingest_and_transform,
    cron_schedule="0 4 * * *",
    execution_timezone=os.environ.get("STRAVA_DATASTACK_SCHEDULE_TIMEZONE") or "UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Loads today and the last days again (late uploads, edits), then the dbt models.",
)
def daily_refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    lookback = int(os.environ.get("STRAVA_DATASTACK_LOOKBACK_DAYS") or DEFAULT_LOOKBACK_DAYS)
    start, end = refresh_range(context.scheduled_execution_time, lookback)
    return dg.RunRequest(
        run_key=f"daily-{end}",
        tags={**run_tags.range_tags(start, end), run_tags.DAILY_REFRESH: "true"},
    )


@dg.sensor(
    job=ingest_and_transform,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After Strava's daily budget resets, continues every run the budget stopped.",
)
def resume_budget_stopped_runs(context: dg.SensorEvaluationContext) -> Iterator[dg.RunRequest]:
    """Launches the continuation of budget-stopped runs once the budget has reset.

    It waits here, in the sensor, so nothing holds the DuckDB writer slot or blocks the daily
    schedule meanwhile. A continuation covers the stopped run's whole range: finished days cost
    no requests again (their data is in the warehouse) and the dbt models then cover the range.
    The run key makes each stopped run continue exactly once.
    """
    now = budget_clock().now()
    records = context.instance.get_run_records(
        run_tags.budget_stopped_runs(),
        limit=100,
    )
    waiting = 0
    for record in records:
        run = record.dagster_run
        resume_after = datetime.fromisoformat(run.tags[run_tags.RESUME_AFTER])
        run_range = run_tags.run_range(run.tags)
        if run_range is None:
            continue
        if now < resume_after:
            waiting += 1
            continue
        if context.instance.get_run_records(
            dg.RunsFilter(tags={run_tags.CONTINUES: run.run_id}), limit=1
        ):
            continue  # already continued
        origin = run.tags.get(run_tags.CONTINUES_BACKFILL) or run.tags.get(run_tags.BACKFILL)
        tags = {**run_tags.range_tags(*run_range), run_tags.CONTINUES: run.run_id}
        if origin:
            tags[run_tags.CONTINUES_BACKFILL] = origin
        yield dg.RunRequest(run_key=f"resume-{run.run_id}", tags=tags)
    if waiting:
        context.update_cursor(f"{waiting} stopped runs waiting for the budget reset")


# A file must be left alone this long before the sensor reads it.
SETTLE_SECONDS = 10


def recently_changed(folder: Path, seconds: float) -> str | None:
    """The name of a file under `folder` modified in the last `seconds`, if there is one."""
    cutoff = time.time() - seconds
    for root, _dirs, names in os.walk(folder):
        for name in names:
            try:
                if os.stat(os.path.join(root, name)).st_mtime > cutoff:
                    return name
            except FileNotFoundError:  # moved away meanwhile
                return name
    return None


def import_range(days: set[date], first_day: date, last_day: date) -> tuple[str, str] | None:
    """The partition range one import run covers: every changed day, within the partitions."""
    inside = [day for day in days if first_day <= day <= last_day]
    if not inside:
        return None
    return min(inside).isoformat(), max(inside).isoformat()


@dg.sensor(
    job=import_files,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Imports new or changed files of the import folder (STRAVA_DATASTACK_IMPORT_DIR): "
    "one run over the days they cover.",
)
def import_folder_sensor(context: dg.SensorEvaluationContext) -> Iterator[dg.RunRequest]:
    """Watches the import folder; launches ONE run over exactly the days new files cover.

    The index remembers every file by size, time and content hash, so a tick only looks inside
    files it has not seen, and a file dropped again unchanged launches nothing.
    """
    folder = paths.import_dir()
    if not folder.is_dir():
        yield dg.SkipReason(
            f"No import folder at {folder}: create it and drop Strava's export ZIP or activity "
            "files (.fit, .gpx, .tcx, gzipped or not) into it."
        )
        return
    settling = recently_changed(folder, SETTLE_SECONDS)
    if settling:
        # A file still being copied or downloaded reads as broken or half there.
        yield dg.SkipReason(
            f"{settling} was changed in the last {SETTLE_SECONDS} s; waiting until the folder "
            "is quiet (a copy or download may still be running)."
        )
        return
    scan = scan_import_folder(folder)
    changes = FileIndex(paths.import_index_path()).refresh(
        scan.items, peek_start, refused=scan.problems
    )
    if not changes.any:
        yield dg.SkipReason(f"Nothing new in {folder}.")
        return
    partitions = daily_partitions.get_partition_keys()
    first_day, last_day = date.fromisoformat(partitions[0]), date.fromisoformat(partitions[-1])
    outside = sorted(day for day in changes.days if not first_day <= day <= last_day)
    if outside:
        context.log.warning(
            f"{len(outside)} days of imported files lie before the first partition "
            f"({first_day}), from {outside[0]}: set STRAVA_DATASTACK_HISTORY_START to "
            f"{outside[0]} or earlier to import them."
        )
    day_range = import_range(changes.days, first_day, last_day)
    if day_range is None:
        return
    fingerprint = hashlib.sha256(
        "\n".join(sorted(changes.new + changes.changed + changes.removed)).encode()
    ).hexdigest()[:16]
    yield dg.RunRequest(
        run_key=f"import-{day_range[0]}-{day_range[1]}-{fingerprint}",
        tags=run_tags.range_tags(*day_range),
    )


FAILURE_HINTS = {
    # First: a run that stopped with days left (budget, 429, a failing activity) loaded the rest.
    "the range is incomplete": "Some days of its range are not loaded yet; the rest loaded and "
    "was reported (the last warning says why, and when the rest resumes).",
    "StravaConfigError": "Strava credentials are not configured.",
    "StravaAuthError": "Strava refused the credentials; the error names the one it rejected.",
    "StravaInactiveAppError": "The Strava API application is inactive (owner's subscription).",
    "StravaServerError": "Strava was unavailable; the run can simply be re-executed later.",
    "StravaPayloadError": "Strava sent data the project could not read; nothing was loaded.",
    "IO Error: Could not set lock": "Another process holds the DuckDB warehouse open for writing.",
}


@dg.run_failure_sensor(
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Writes a plain-words explanation into the log of every failed run.",
)
def explain_run_failure(context: dg.RunFailureSensorContext) -> None:
    # The event messages only say which step failed: what went wrong (the Strava error's class
    # and wording) is in the error chain, where Dagster wraps the asset's own exception.
    messages = [context.failure_event.message or ""]
    for event in context.get_step_failure_events():
        messages.append(event.message or "")
        failure = event.step_failure_data
        user_data = failure.user_failure_data if failure else None
        if user_data and STRAVA_ERROR in user_data.metadata:
            messages.append(str(user_data.metadata[STRAVA_ERROR].value))
        error = failure.error if failure else None
        while error is not None:
            messages.append(f"{error.cls_name}: {error.message}")
            error = error.cause
    text = "\n".join(messages)
    hints = [hint for marker, hint in FAILURE_HINTS.items() if marker in text]
    summary = hints[0] if hints else "See the failed step's error above."
    context.instance.report_engine_event(
        f"Why this run failed, in short: {summary} The warehouse keeps its last consistent load: "
        "dlt loads a run's data only after all of it was fetched.",
        context.dagster_run,
    )
