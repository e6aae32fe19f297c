"""The DuckDB warehouse file: connecting, creating it readable by Evidence, snapshotting it.

Plain functions without Dagster, so the Strava planner, the site build and the CLI use them too;
Dagster assets reach them through the `Warehouse` resource (defs/resources.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import duckdb

from strava_datastack.paths import DBT_EXECUTABLE, DBT_PROJECT_DIR, warehouse_snapshot_path

# Evidence's DuckDB (node, 1.x) cannot open files in DuckDB 2.0's default storage format. dlt and
# dbt keep the version a file was created with, so creating it ourselves is enough.
STORAGE_VERSION = "v1.0.0"


LOCK_TIMEOUT_ENV = "STRAVA_DATASTACK_WAREHOUSE_LOCK_TIMEOUT"
# Long enough for another writer's step (a dbt build, a day's load) to finish; short enough that
# a shell left open on the file fails the run while somebody is still around to read why.
DEFAULT_LOCK_TIMEOUT_S = 300.0
LOCK_RETRY_S = 1.0


class WarehouseLockedError(RuntimeError):
    """Another process kept the warehouse file locked for longer than a run waits."""


def lock_timeout_s() -> float:
    """How long to wait for another process's lock on the warehouse (seconds)."""
    configured = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    if not configured:
        return DEFAULT_LOCK_TIMEOUT_S
    try:
        return max(0.0, float(configured))
    except ValueError:
        raise WarehouseLockedError(
            f"{LOCK_TIMEOUT_ENV}={configured!r} is not a number of seconds; set it to e.g. 300."
        ) from None


def _is_lock_conflict(exc: duckdb.Error) -> bool:
    return "Could not set lock" in str(exc)


def _open(path: Path | str, read_only: bool) -> duckdb.DuckDBPyConnection:
    """Opens the file, waiting (bounded) while another process holds its lock.

    DuckDB fails at once when another process has the file open, and its message suggests a
    read-only open, which is no help to a writer (and a writer's lock blocks readers too).
    """
    deadline = time.monotonic() + lock_timeout_s()
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if not _is_lock_conflict(exc):
                raise
            if time.monotonic() >= deadline:
                holder = re.search(r"\(PID (\d+)\)", str(exc))
                who = f"process {holder.group(1)}" if holder else "another process"
                raise WarehouseLockedError(
                    f"The warehouse {path} is held open by {who}, and stayed locked for "
                    f"{lock_timeout_s():.0f} s. DuckDB lets one process use the file while it "
                    "writes: close that process (a duckdb shell or notebook left open on the "
                    "warehouse?) or let it finish, then run again. To look at the data while "
                    f"runs go on, open the snapshot copy instead: {warehouse_snapshot_path()}. "
                    f"({LOCK_TIMEOUT_ENV} sets how many seconds a run waits.)"
                ) from None
            time.sleep(min(LOCK_RETRY_S, max(0.0, deadline - time.monotonic())))


@contextlib.contextmanager
def connect(path: Path | str, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection that is closed when the block ends.

    Closing matters: a writer's open connection blocks every other process, readers included,
    and DuckDB checkpoints on close (so a snapshot copied afterwards is the whole database).
    While another process holds the file, it waits up to `lock_timeout_s()` for it, then raises
    `WarehouseLockedError` naming that process.
    """
    con = _open(path, read_only)
    try:
        yield con
    finally:
        con.close()


def wait_until_free(path: Path) -> None:
    """Returns once no other process holds the warehouse, or raises `WarehouseLockedError`.

    For writers that open the file themselves (dlt's load, dbt): checking just before they start
    keeps a shell left open on the file from failing them at once with DuckDB's own error.
    """
    if Path(path).exists():
        with connect(path):
            pass


def ensure_warehouse(path: Path) -> Path:
    """Creates an empty warehouse file in the readable storage format if none exists yet.

    Two runs starting together on a new data folder would both create it, and the second would
    fail on the first one's lock: they take turns on a lock of the folder (no file left behind),
    and the second finds it made.
    """
    path = Path(path)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        if not path.exists():
            with connect(":memory:") as con:
                con.execute(f"ATTACH '{path}' AS warehouse (STORAGE_VERSION '{STORAGE_VERSION}')")
                con.execute("DETACH warehouse")
    finally:
        os.close(folder)  # releases the lock
    return path


Pipeline = TypeVar("Pipeline")


def open_pipeline(
    make: Callable[[], Pipeline], folder: Path, log: Callable[[str], object] = print
) -> Pipeline:
    """Opens a dlt pipeline, rebuilding its local state folder when that cannot be read.

    The warehouse holds the pipeline's state (`_dlt_pipeline_state`), and every run drops the
    local copy and restores it from there anyway. So a local folder that dlt cannot open (a
    garbled or truncated state or schema file, the folder replaced by a file) holds nothing that
    is not in the warehouse: remove it and open again, before the run spends any request.

    Args:
        make: builds the pipeline (dlt reads the local state while building it).
        folder: the pipeline's local folder (``<pipelines_dir>/<pipeline_name>``).
        log: where the repair is reported.
    """
    try:
        return make()
    except Exception as exc:  # noqa: BLE001 - any failure to read local files means the same
        log(
            f"The local dlt state in {folder} could not be read ({type(exc).__name__}); it is "
            "removed and rebuilt from the warehouse, which keeps the pipeline's state."
        )
    if folder.is_dir() and not folder.is_symlink():
        shutil.rmtree(folder)
    else:
        folder.unlink(missing_ok=True)
    return make()


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


def table_counts(path: Path, schemas: Sequence[str], *, read_only: bool = True) -> dict[str, int]:
    """Rows per ``schema.table`` of every table (not view) in ``schemas``, over one connection.

    Read-only by default; a writer that has just closed the file (the dbt asset, in its writer
    slot) opens it read-write, because DuckDB refuses a read-only open beside its own.
    """
    with connect(path, read_only=read_only) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in (select unnest(?)) and table_type = 'BASE TABLE' "
            "order by table_schema, table_name",
            [list(schemas)],
        ).fetchall()
        return {
            f"{schema}.{table}": con.execute(
                f'select count(*) from "{schema}"."{table}"'
            ).fetchone()[0]
            for schema, table in tables
        }


def dbt_command(
    command: list[str], warehouse: Path, work: Path, dbt_vars: dict[str, str] | None = None
) -> list[str]:
    """The command line that runs dbt ``command`` on ``warehouse`` outside Dagster.

    For tests and benchmarks: target and logs go into ``work`` so that runs never collide, and
    the warehouse path goes in the vars profiles.yml reads, as the Dagster assets pass it.
    """
    return [
        str(DBT_EXECUTABLE), *command,
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(work / "target"),
        "--log-path", str(work / "logs"),
        "--vars", json.dumps({"warehouse_path": str(warehouse), **(dbt_vars or {})}),
    ]  # fmt: skip
