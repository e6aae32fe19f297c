"""The DuckDB warehouse file: creating it readable by Evidence, and snapshotting it for readers."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb

# Evidence's DuckDB (node, 1.x) cannot open files in DuckDB 2.0's default storage format. dlt and
# dbt keep the version a file was created with, so creating it ourselves is enough.
STORAGE_VERSION = "v1.0.0"


def ensure_warehouse(path: Path) -> Path:
    """Creates an empty warehouse file in the readable storage format if none exists yet."""
    path = Path(path)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"ATTACH '{path}' AS warehouse (STORAGE_VERSION '{STORAGE_VERSION}')")
        con.execute("DETACH warehouse")
    finally:
        con.close()
    return path


def snapshot_warehouse(path: Path, snapshot: Path) -> Path:
    """Copies the closed warehouse to `snapshot`, replacing any older snapshot atomically.

    Call it only while holding the writer slot (nobody else writes the file), right after a writer
    closed it: DuckDB checkpoints on close, so the file alone is the whole database. Readers of
    the old snapshot keep reading their open copy while it is replaced.
    """
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    tmp = snapshot.with_name(f".{snapshot.name}.{os.getpid()}.tmp")
    shutil.copyfile(path, tmp)
    os.replace(tmp, snapshot)
    return snapshot


def table_counts(path: Path, schema: str) -> dict[str, int]:
    """Row counts of every table in `schema` (read-only; do not call while a writer runs)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables where table_schema = ? "
                "order by table_name",
                [schema],
            ).fetchall()
        ]
        return {
            table: con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
            for table in tables
        }
    finally:
        con.close()
