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


# dlt works out an Arrow item's table schema for every item it is handed (its contract cache
# does not cover Arrow): ~30 ms each, which for one small table per activity and table was half
# of an archive import's CPU. Activities are handed over in chunks of about this many samples
# instead, each table's part of a chunk as one Arrow table.
CHUNK_SAMPLES = 250_000


def _tables(items: Iterable[pa.Table | None]) -> Iterator[pa.Table]:
    for table in items:
        if table is not None and table.num_rows:
            yield table


def _chunks(bundles: Iterable[Any], samples: int = CHUNK_SAMPLES) -> Iterator[list[Any]]:
    """Consecutive bundles, grouped until a group holds `samples` samples (and the rest)."""
    chunk: list[Any] = []
    held = 0
    for bundle in bundles:
        chunk.append(bundle)
        held += bundle.samples.num_rows if bundle.samples is not None else 0
        if held >= samples:
            yield chunk
            chunk, held = [], 0
    if chunk:
        yield chunk


def _concatenated(tables: Iterable[pa.Table | None]) -> pa.Table | None:
    present = list(_tables(tables))
    return pa.concat_tables(present) if present else None


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
            # A list is one item to dlt: each transformer gets the whole chunk.
            yield from _chunks(batch.bundles())

    def split(name: str, pick) -> Any:
        @dlt.transformer(data_from=file_bundles, **table_hints(name))
        def part(chunk: list[Any]) -> Iterator[Any]:
            rows = pick(chunk)
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
        split("activities", lambda chunk: [b.activity for b in chunk]),
        split("activity_streams", lambda chunk: _concatenated(b.samples for b in chunk)),
        split("activity_laps", lambda chunk: _concatenated(b.laps for b in chunk)),
        split("activity_splits", lambda chunk: _concatenated(b.splits for b in chunk)),
        split("activity_best_efforts", lambda chunk: _concatenated(b.best_efforts for b in chunk)),
        archive_activities,
        gear,
    )
