"""The dlt source for the import folder: one window of parsed activity files and archive rows.

Every table is replaced per activity (delete-insert on `activity_id`), so importing a window
again, or a fixed file, never duplicates samples or leaves laps of an older parse behind.
Samples arrive as Arrow tables, one per file, straight from the parser processes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import dlt
import pyarrow as pa

from strava_datastack.strava.rows import hints

# One row per activity the import knows: an archive row (activities.csv, with or without a
# file) or a loose device file. Strava-computed values come from activities.csv where it has
# them; the file's own summary fills the rest (see files/derived.py for the local rules).
FILE_ACTIVITY_COLUMNS: dict[str, str] = {
    "activity_id": "bigint",
    "origin": "text",  # 'archive' (a row of activities.csv) or 'file' (a loose device file)
    "file_key": "text",
    "file_format": "text",
    "name": "text",
    "sport_type": "text",
    "start_date": "timestamp",
    "elapsed_time": "bigint",
    "moving_time": "bigint",
    "distance": "double",
    "total_elevation_gain": "double",
    "average_speed": "double",
    "max_speed": "double",
    "average_heartrate": "double",
    "max_heartrate": "double",
    "average_cadence": "double",
    "average_watts": "double",
    "max_watts": "double",
    "calories": "double",
    "device_name": "text",
    "description": "text",
    "gear_id": "text",
    "gear_name": "text",
    "commute": "bool",
    "trainer": "bool",
    "manual": "bool",
    "samples": "bigint",
}

def _tables(items: Iterable[pa.Table | None]) -> Iterator[pa.Table]:
    for table in items:
        if table is not None and table.num_rows:
            yield table


@dlt.source(name="files", max_table_nesting=0)
def files_source(batch: Any = None) -> Any:
    """The window's import as dlt resources (see strava_datastack.files.load.FileBatch).

    `batch` is None when the asset definitions only describe the tables at import time. Parsing
    happens while dlt extracts: `batch.bundles()` yields one parsed activity at a time, so the
    samples of a whole history never sit in memory together.
    """
    replace_by_activity = {
        "write_disposition": {"disposition": "merge", "strategy": "delete-insert"},
        "merge_key": "activity_id",
    }

    @dlt.resource(name="file_bundles", selected=False)
    def file_bundles() -> Iterator[Any]:
        if batch is not None:
            yield from batch.bundles()

    def split(name: str, pick, columns: dict[str, str] | None = None) -> Any:
        @dlt.transformer(
            data_from=file_bundles, name=name, columns=hints(columns or {}), **replace_by_activity
        )
        def part(bundle: Any) -> Iterator[Any]:
            rows = pick(bundle)
            if rows is not None and len(rows):
                yield rows

        return part

    @dlt.resource(name="archive_activities", **replace_by_activity)
    def archive_activities() -> Iterator[pa.Table]:
        # Every column of the window's activities.csv rows, typed by position.
        if batch is not None:
            yield from _tables([batch.archive_rows])

    @dlt.resource(name="gear", primary_key="gear_id", write_disposition="merge")
    def gear() -> Iterator[list[dict[str, Any]]]:
        if batch is not None and batch.gear:
            yield batch.gear

    return (
        file_bundles,
        split("activities", lambda b: [b.activity], FILE_ACTIVITY_COLUMNS),
        split("activity_streams", lambda b: b.samples),
        split("activity_laps", lambda b: b.laps),
        split("activity_splits", lambda b: b.splits),
        split("activity_best_efforts", lambda b: b.best_efforts),
        archive_activities,
        gear,
    )

