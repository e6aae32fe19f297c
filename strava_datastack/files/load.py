"""Loading one window of the import folder into the warehouse: the files assets' body.

Index first (only new or changed files are looked at), then parse the window's files over the
machine's cores, derive what Strava's activity detail would have given (laps, splits, best
efforts), and load it all in one dlt run into the `files` dataset. No Strava request is made.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc

from strava_datastack import paths
from strava_datastack.contract import FILES_SCHEMA
from strava_datastack.files import derived
from strava_datastack.files.activity_file import (
    ActivityFileError,
    ParsedActivity,
    parse_many,
    peek_start,
)
from strava_datastack.files.file_index import FileIndex, IndexChanges
from strava_datastack.files.import_folder import ImportItem, ImportRefused, ImportScan
from strava_datastack.files.import_folder import scan as scan_import_folder
from strava_datastack.files.source import files_source
from strava_datastack.progress import repeats_dropped
from strava_datastack.warehouse import ensure_warehouse, open_pipeline, wait_until_free

PIPELINE_NAME = "strava_datastack_files"
DATASET_NAME = FILES_SCHEMA  # the contract's schema of the import's tables


def files_pipeline() -> dlt.Pipeline:
    """The dlt pipeline of the import: dataset `files` in the project's DuckDB file."""
    return dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        destination=dlt.destinations.duckdb(str(paths.warehouse_path())),
        dataset_name=DATASET_NAME,
        pipelines_dir=str(paths.dlt_pipelines_dir()),
    )


def file_activity_id(content_digest: str, session: int = 0) -> int:
    """A stable id for an activity known only from a loose file (no Strava id in it).

    Negative, so it can never collide with Strava's ids; derived from the file's content, so
    importing the same file again (renamed or moved) gives the same activity.
    """
    digest = hashlib.sha256(f"{content_digest}:{session}".encode()).digest()
    return -(int.from_bytes(digest[:7], "big") + 1)


@dataclass
class FileBundle:
    """One imported activity, split later into its tables (each carries `activity_id`)."""

    activity: dict[str, Any]
    samples: pa.Table | None = None
    laps: pa.Table | None = None
    splits: pa.Table | None = None
    best_efforts: pa.Table | None = None


def _with_activity_id(table: pa.Table | None, activity_id: int) -> pa.Table | None:
    if table is None or not table.num_rows:
        return None
    return table.add_column(
        0, "activity_id", pa.repeat(pa.scalar(activity_id, pa.int64()), table.num_rows)
    )


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def archive_activity_row(row: dict[str, Any], file_key: str | None) -> dict[str, Any]:
    """An activities.csv row as a `files.activities` row: Strava's own numbers, as exported."""
    elapsed = row.get("elapsed_time")
    moving = row.get("moving_time")
    return {
        "activity_id": row["activity_id"],
        "origin": "archive",
        "file_key": file_key,
        "file_format": None,
        "name": row.get("activity_name"),
        "sport_type": row.get("sport_type"),
        "start_date": row["activity_date"].astimezone(UTC).replace(tzinfo=None),
        "elapsed_time": None if elapsed is None else int(elapsed),
        "moving_time": None if moving is None else int(round(moving)),
        "distance": _number(row.get("distance")),
        "total_elevation_gain": _number(row.get("elevation_gain")),
        "average_speed": _number(row.get("average_speed")),
        "max_speed": _number(row.get("max_speed")),
        "average_heartrate": _number(row.get("average_heart_rate")),
        "max_heartrate": _number(row.get("max_heart_rate") or row.get("max_heart_rate_summary")),
        "average_cadence": _number(row.get("average_cadence")),
        "average_watts": _number(row.get("average_watts")),
        "max_watts": _number(row.get("max_watts")),
        "calories": _number(row.get("calories")),
        "device_name": None,
        "description": row.get("activity_description"),
        "gear_id": row.get("gear_id"),
        "gear_name": row.get("activity_gear"),
        "commute": bool(row.get("commute")),
        "trainer": None,
        "manual": not (row.get("filename") or "").strip(),
        "samples": 0,
        # the archive has no positions: its activity's file gives them (FileBatch.bundles)
        **dict.fromkeys(derived.ROUTE_COLUMNS),
    }


def _mean(samples: pa.Table, column: str) -> float | None:
    values = samples.column(column).drop_null()
    return float(pc.mean(values).as_py()) if len(values) else None


def _max(samples: pa.Table, column: str) -> float | None:
    values = samples.column(column).drop_null()
    return float(pc.max(values).as_py()) if len(values) else None


def file_activity_row(parsed: ParsedActivity, activity_id: int, file_key: str) -> dict[str, Any]:
    """A loose file's activity: its summary by the local rules of files/derived.py."""
    samples = parsed.samples
    moving = parsed.moving_time
    distance = parsed.distance
    return {
        "activity_id": activity_id,
        "origin": "file",
        "file_key": file_key,
        "file_format": parsed.file_format,
        "name": _default_name(parsed),
        "sport_type": parsed.sport_type or "Workout",
        "start_date": parsed.start_date,
        "elapsed_time": parsed.elapsed_time,
        "moving_time": moving,
        "distance": distance,
        "total_elevation_gain": parsed.total_elevation_gain,
        "average_speed": (distance / moving) if distance and moving else None,
        "max_speed": _max(samples, "velocity_smooth"),
        "average_heartrate": _mean(samples, "heartrate"),
        "max_heartrate": _max(samples, "heartrate"),
        "average_cadence": _mean(samples, "cadence"),
        "average_watts": _mean(samples, "watts"),
        "max_watts": _max(samples, "watts"),
        "calories": None,
        "device_name": parsed.device_name,
        "description": None,
        "gear_id": None,
        "gear_name": None,
        "commute": False,
        "trainer": None,
        "manual": False,
        "samples": samples.num_rows,
        **parsed.route,
    }


def _default_name(parsed: ParsedActivity) -> str:
    # What Strava would call an upload without a title: "Morning Ride" and the like.
    hour = parsed.start_date.hour
    part = "Morning" if 5 <= hour < 12 else "Afternoon" if hour < 17 else "Evening"
    part = "Night" if hour < 5 or hour >= 21 else part
    return f"{part} {parsed.sport_type or 'Activity'}"


def derive_from_samples(parsed: ParsedActivity) -> dict[str, pa.Table | None]:
    """Splits and best efforts from a file's samples: what a Strava detail would have given.

    Runs in the parser processes (`parse_many(derive=...)`), beside the parse itself.
    """
    samples = parsed.samples
    is_run = (parsed.sport_type or "") in RUN_SPORTS
    return {
        "splits": pa.concat_tables(
            [derived.splits(samples, units) for units in ("metric", "standard")]
        ),
        "best_efforts": derived.best_efforts(samples) if is_run else None,
    }


def file_bundle(
    parsed: ParsedActivity, extra: dict[str, pa.Table | None], row: dict[str, Any]
) -> FileBundle:
    """One parsed activity's tables, each with the activity's id."""
    activity_id = row["activity_id"]
    return FileBundle(
        activity=row,
        samples=_with_activity_id(parsed.samples, activity_id),
        laps=_with_activity_id(parsed.laps, activity_id),
        splits=_with_activity_id(extra["splits"], activity_id),
        best_efforts=_with_activity_id(extra["best_efforts"], activity_id),
    )


# Strava computes best efforts for runs only.
RUN_SPORTS = {"Run", "TrailRun", "VirtualRun"}


@dataclass
class FileBatch:
    """What one window of the import folder loads; `bundles()` parses while dlt extracts."""

    items: list[ImportItem]  # the window's activities: files, and CSV rows without one
    csv_rows: dict[tuple[str, int], dict[str, Any]]  # (export key, activity id) -> CSV row
    archive_rows: pa.Table | None
    gear: list[dict[str, Any]]
    workers: int | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)
    files_parsed: int = 0
    activities: int = 0
    samples: int = 0

    def bundles(self) -> Iterator[FileBundle]:
        files = [item for item in self.items if item.has_file]
        for item in self.items:
            if not item.has_file:  # a manual entry, or a file missing from the export
                self.activities += 1
                yield FileBundle(archive_activity_row(self._csv_row(item), None))
        digests: dict[str, str] = {}

        def tasks() -> Iterator[tuple[str, bytes]]:
            for item in files:
                try:
                    content = item.read_content()
                except ImportRefused as refused:
                    self._problem(item.key, refused.reason)
                    continue
                digests[item.key] = hashlib.sha256(content).hexdigest()
                yield item.key, content

        by_key = {item.key: item for item in files}
        results = parse_many(tasks(), workers=self.workers, derive=derive_from_samples)
        for (key, _content), result in results:
            if isinstance(result, ActivityFileError):
                self._problem(key, result.reason)
                continue
            self.files_parsed += 1
            item = by_key[key]
            for session, (parsed, extra) in enumerate(result):
                if item.activity_id is not None and session == 0:
                    activity_id = item.activity_id
                    row = archive_activity_row(self._csv_row(item), key)
                    row.update(file_format=parsed.file_format, device_name=parsed.device_name)
                    row.update(parsed.route)
                else:
                    activity_id = file_activity_id(digests.pop(key, key), session)
                    row = file_activity_row(parsed, activity_id, key)
                row["samples"] = parsed.samples.num_rows
                self.activities += 1
                self.samples += parsed.samples.num_rows
                yield file_bundle(parsed, extra, row)

    def _csv_row(self, item: ImportItem) -> dict[str, Any]:
        return self.csv_rows[(item.export_key, item.activity_id)]

    def _problem(self, key: str, reason: str) -> None:
        self.problems.append({"file_key": key, "reason": reason})


@dataclass
class FilesWindowLoad:
    """What importing a window did."""

    folder: Path
    files_in_window: int
    files_parsed: int
    activities: int
    samples: int
    problems: list[dict[str, Any]]  # files of the folder that could not be imported, and why
    row_counts: dict[str, int]
    index_changes: IndexChanges


def _csv_rows_in_window(
    scan: ImportScan, start: datetime, end: datetime
) -> tuple[dict[tuple[str, int], dict[str, Any]], pa.Table | None]:
    rows: dict[tuple[str, int], dict[str, Any]] = {}
    tables = []
    for export in scan.exports:
        if export.activities is None:
            continue
        table = export.activities.table
        dates = table.column("activity_date")
        mask = pc.and_(pc.greater_equal(dates, start), pc.less(dates, end))
        table = table.filter(mask)
        for row in table.to_pylist():
            rows[(export.key, row["activity_id"])] = row
        tables.append(table)
    if not tables:
        return rows, None
    return rows, pa.concat_tables(tables, promote_options="permissive")


def _gear_rows(scan: ImportScan) -> list[dict[str, Any]]:
    gear = []
    for export in scan.exports:
        for item in [*export.bikes, *export.shoes]:
            gear.append({"gear_id": f"{item.kind}:{item.name}", **asdict(item)})
    return gear


def load_files_window(
    window_start: datetime,
    window_end: datetime,
    *,
    log: Callable[[str], object] = print,
    workers: int | None = None,
) -> FilesWindowLoad:
    """Imports the activities of the import folder that started in [window_start, window_end)."""
    folder = paths.import_dir()
    folder.mkdir(parents=True, exist_ok=True)
    scan = scan_import_folder(folder)
    index = FileIndex(paths.import_index_path())
    changes = index.refresh(scan.items, peek_start, refused=scan.problems)
    start = window_start.astimezone(UTC)
    end = window_end.astimezone(UTC)
    indexed = index.items_for_days(start.date(), end.date())
    by_key = scan.by_key()
    items = [by_key[entry.key] for entry in indexed if entry.key in by_key]
    csv_rows, archive_rows = _csv_rows_in_window(scan, start, end)
    log(
        f"Import folder {folder}: {len(scan.items)} activities indexed "
        f"({len(changes.new)} new, {len(changes.changed)} changed); {len(items)} in "
        f"[{start:%Y-%m-%d}, {end:%Y-%m-%d})."
    )
    batch = FileBatch(
        items=items,
        csv_rows=csv_rows,
        archive_rows=archive_rows,
        gear=_gear_rows(scan),
        workers=workers,
    )
    ensure_warehouse(paths.warehouse_path())
    pipeline = open_pipeline(files_pipeline, paths.dlt_pipelines_dir() / PIPELINE_NAME, log)
    pipeline.drop()  # local state is restored from the warehouse; a failed run leaves nothing
    wait_until_free(paths.warehouse_path())
    with repeats_dropped("dlt"):
        pipeline.run(files_source(batch)).raise_on_failed_jobs()
    for problem in batch.problems:
        index.mark_problem(problem["file_key"], problem["reason"])
    # Every file of the folder that cannot be imported, not only this window's: a file whose
    # start cannot be read belongs to no day, and the user should hear of it on any run.
    window_problems = [{"file_key": p.key, "reason": p.reason} for p in index.problems()]
    row_counts = dict(pipeline.last_trace.last_normalize_info.row_counts)
    log(
        f"Imported {batch.activities} activities ({batch.files_parsed} files, {batch.samples} "
        f"samples); {len(window_problems)} files of the folder could not be imported."
    )
    return FilesWindowLoad(
        folder=folder,
        files_in_window=len(items),
        files_parsed=batch.files_parsed,
        activities=batch.activities,
        samples=batch.samples,
        problems=window_problems,
        row_counts=row_counts,
        index_changes=changes,
    )
