"""The warehouse as a Dagster resource: its path, the snapshot readers use, dbt's settings."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb

from strava_datastack import paths
from strava_datastack.warehouse import connect, snapshot_warehouse, table_counts


class Warehouse(dg.ConfigurableResource):
    """The DuckDB warehouse the assets load, model and read.

    It lives in the data folder (``STRAVA_DATASTACK_DATA_DIR``, default ``data/``), read when a
    run uses the resource, not when the code location is imported, so tests and the CLI can
    redirect it; the dlt load (defs/ingest/load.py) finds it the same way. Readers (checks, the
    site) use the snapshot, a closed copy, because a DuckDB read-only open blocks the writer for
    as long as it is held.
    """

    @property
    def path(self) -> Path:
        return paths.warehouse_path()

    @property
    def snapshot_path(self) -> Path:
        return paths.warehouse_snapshot_path()

    def dbt_vars(self) -> dict[str, str]:
        """The `--vars` that point dbt's profile (profiles.yml) at this warehouse."""
        return {"warehouse_path": str(self.path)}

    def row_counts_after_write(self, schemas: list[str]) -> dict[str, int]:
        """Rows per ``schema.table``, by the writer that has just written (and closed) it."""
        return table_counts(self.path, schemas, read_only=False)

    def take_snapshot(self) -> Path:
        """Copies the closed warehouse for readers. Only while holding the writer slot."""
        return snapshot_warehouse(self.path, self.snapshot_path)

    @contextlib.contextmanager
    def read_snapshot(self) -> Iterator[duckdb.DuckDBPyConnection | None]:
        """A read-only connection to the snapshot, or None while there is none yet."""
        if not self.snapshot_path.exists():
            yield None
            return
        with connect(self.snapshot_path, read_only=True) as con:
            yield con

    def private_snapshot_copy(self, name: str) -> Path:
        """A copy of the snapshot only the caller uses (the site build takes minutes, and a dbt
        run finishing meanwhile replaces the snapshot file)."""
        if not self.snapshot_path.exists():
            raise FileNotFoundError(self.snapshot_path)
        copy = paths.data_dir() / name / paths.WAREHOUSE_FILE
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.snapshot_path, copy)
        return copy
