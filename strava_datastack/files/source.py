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

from strava_datastack.contract import FILES_TABLES


def table_hints(name: str) -> dict[str, Any]:
    return FILES_TABLES[name].dlt_resource_hints()


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
    @dlt.resource(name="file_bundles", selected=False)
    def file_bundles() -> Iterator[Any]:
        if batch is not None:
            yield from batch.bundles()

    def split(name: str, pick) -> Any:
        @dlt.transformer(data_from=file_bundles, **table_hints(name))
        def part(bundle: Any) -> Iterator[Any]:
            rows = pick(bundle)
            if rows is not None and len(rows):
                yield rows

        return part

    @dlt.resource(**table_hints("archive_activities"))
    def archive_activities() -> Iterator[pa.Table]:
        # Every column of the window's activities.csv rows, typed by position.
        if batch is not None:
            yield from _tables([batch.archive_rows])

    @dlt.resource(**table_hints("gear"))
    def gear() -> Iterator[list[dict[str, Any]]]:
        if batch is not None and batch.gear:
            yield batch.gear

    return (
        file_bundles,
        split("activities", lambda b: [b.activity]),
        split("activity_streams", lambda b: b.samples),
        split("activity_laps", lambda b: b.laps),
        split("activity_splits", lambda b: b.splits),
        split("activity_best_efforts", lambda b: b.best_efforts),
        archive_activities,
        gear,
    )

