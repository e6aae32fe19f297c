"""The Dagster instance's storage: Dagster's SQLite storage, writing event batches in one go.

A run over a range of days records an event per asset per day (a materialization, and a planned
one when the run is created): 52 assets over 5 years are ~190,000 events. Dagster's SQLite event
log opens a fresh connection for every event, twice (the run's own database and the cross-run
index), commits and closes it; closing the last connection of a WAL database checkpoints it. That
costs ~20-60 ms per event on a small machine: hours of bookkeeping for minutes of work
(benchmarks/backfill_overhead.py).

Dagster already groups these events: a range run's planned events are one batch, and each
asset's materializations over the range another, handed to ``store_event_batch`` when
``DAGSTER_EVENT_BATCH_SIZE`` is set. The SQLite storage stores a batch one event at a time all
the same. Here a batch is written through one connection and one transaction per database, with
Dagster's own per-event logic, so what is stored is exactly what Dagster stores, with one
exception: a planned asset check is one row per run, not one per day of the range (see
``_store_asset_check_evaluation_planned``).

Configured in dagster.yaml (``storage: custom``); the files and their layout are those of
``storage: sqlite``, so an existing instance keeps its history.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from itertools import groupby
from pathlib import Path

import sqlalchemy as db
from dagster import Field
from dagster._config import StringSource
from dagster._core.events import DagsterEventType
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.base_storage import DagsterStorage
from dagster._core.storage.event_log.schema import (
    AssetCheckExecutionsTable,
    AssetKeyTable,
    SqlEventLogStorageTable,
)
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.schedules.sqlite.sqlite_schedule_storage import SqliteScheduleStorage
from dagster._core.storage.sqlite_storage import (
    DagsterSqliteStorage,
    _event_logs_directory,
    _runs_directory,
    _schedule_directory,
)
from dagster._serdes import ConfigurableClassData, serialize_value
from dagster._utils import mkdir_p
from sqlalchemy.engine import Connection

# Dagster reads batching from this environment variable only, in whichever process writes the
# events (the CLI, a run worker the daemon launched, `dagster dev`'s runs). Every one of them
# builds this storage from dagster.yaml, so the storage turns batching on for its own process.
EVENT_BATCH_SIZE_ENV = "DAGSTER_EVENT_BATCH_SIZE"
# A batch holds the index database's write lock while it is written (~1 s for 2,000 events);
# other writers wait for it (SQLite's busy timeout is 30 s).
DEFAULT_EVENT_BATCH_SIZE = 2000


class BatchingSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log, storing a batch through one transaction per database."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        # The batch being written by this thread: its open connection per database.
        self._batch = threading.local()
        self._tables_seen: set[str] = set()
        self._asset_key_cols_seen: set[str] = set()
        super().__init__(base_dir, inst_data)
        # Re-entrant: a batch holds the lock from start to commit, and Dagster's store_event
        # takes it again for every connection it asks for. Other threads wait for the commit.
        self._db_lock = threading.RLock()

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        connections: dict[str, Connection] | None = getattr(self._batch, "connections", None)
        if connections is None:
            with super()._connect(shard) as conn:
                yield conn
            return
        if shard not in connections:
            connections[shard] = self._batch.stack.enter_context(super()._connect(shard))
        yield connections[shard]

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """Stores the events as Dagster's `store_event` does, committing once per database.

        Runs of asset events (a range's planned events, an asset's materializations over the
        range) are written with one statement per table; other events one by one, in order.
        If anything fails, nothing of the batch is committed; Dagster then stores the events one
        by one (`handle_new_event`'s fallback).
        """
        with self._db_lock, ExitStack() as stack:
            self._batch.connections, self._batch.stack = {}, stack
            try:
                for (_run_id, bulk), group in groupby(events, key=_bulk_group):
                    if bulk:
                        self._store_asset_events(list(group))
                    else:
                        for event in group:
                            self.store_event(event)
            finally:
                # Leaving the stack commits (or, after an error, rolls back) each connection.
                self._batch.connections = self._batch.stack = None

    def _store_asset_events(self, events: list[EventLogEntry]) -> None:
        """What `store_event` writes for each of these asset events of one run, in bulk.

        A planned event for a range of partitions is one row of the run's log, and one row per
        partition in the cross-run index: the index rows are what Dagster reads to show a
        partition as in progress, or failed when the run fails.
        """
        rows = [self._event_to_row(event) for event in events]
        with self.run_connection(events[0].run_id) as conn:
            conn.execute(SqlEventLogStorageTable.insert(), rows)
        index_rows, owners = [], []
        for event, row in zip(events, rows, strict=True):
            subset = event.get_dagster_event().partitions_subset
            for partition in subset.get_partition_keys() if subset else [row["partition"]]:
                index_rows.append({**row, "partition": partition})
                owners.append(event)
        with self.index_transaction() as conn:
            conn.execute(SqlEventLogStorageTable.insert(), index_rows)
            # This transaction holds SQLite's write lock since the insert: the new rows are the
            # last ids of the table, in order.
            last_id = conn.execute(db.select(db.func.max(SqlEventLogStorageTable.c.id))).scalar()
            event_ids = list(range(last_id - len(index_rows) + 1, last_id + 1))
            self._store_asset_event_tags(conn, owners, event_ids)
            # The asset_keys row of each asset, updated once with what the events in order
            # would have left in it: the last event's columns over those of the last
            # materialization (the only event that sets `last_materialization`, a serialized
            # record: computing it for every event cost a second serialization each).
            has_index_cols = self._has_asset_key_index_cols_on_connection(conn)
            last_event: dict[str, tuple[EventLogEntry, int]] = {}
            last_materialization: dict[str, tuple[EventLogEntry, int]] = {}
            for event, event_id in zip(owners, event_ids, strict=True):
                dagster_event = event.get_dagster_event()
                key = dagster_event.asset_key.to_string()
                last_event[key] = (event, event_id)
                if dagster_event.is_step_materialization:
                    last_materialization[key] = (event, event_id)
            for key, (event, event_id) in last_event.items():
                values = {}
                if key in last_materialization and last_materialization[key][0] is not event:
                    values.update(
                        self._get_asset_entry_values(*last_materialization[key], has_index_cols)
                    )
                values.update(self._get_asset_entry_values(event, event_id, has_index_cols))
                if not values:
                    continue
                # Update, else insert: the transaction's write lock keeps the row from
                # appearing in between.
                updated = conn.execute(
                    AssetKeyTable.update().values(**values).where(AssetKeyTable.c.asset_key == key)
                )
                if not updated.rowcount:
                    conn.execute(AssetKeyTable.insert().values(asset_key=key, **values))

    def _store_asset_check_evaluation_planned(
        self, event: EventLogEntry, event_id: int | None
    ) -> None:
        """One row for a planned check, whatever the run's range.

        Dagster 1.13 gives a planned check the run's partitions even when the check has none
        (every check here: dbt's tests and defs/checks.py; test_definitions_graph.py keeps it
        so), and writes a row per day of the range. The evaluation then comes without a
        partition and lands in a row of its own, so the day rows stayed PLANNED for good: 229
        dbt tests x 1,826 days were 418,383 rows (~4.5 min) before a 5-year run began. The one
        row here is the one the evaluation updates, as for a run without partitions.
        """
        planned = event.get_dagster_event().asset_check_planned_data
        with self.index_connection() as conn:
            conn.execute(
                AssetCheckExecutionsTable.insert().values(
                    asset_key=planned.asset_key.to_string(),
                    check_name=planned.check_name,
                    partition=None,
                    run_id=event.run_id,
                    execution_status=AssetCheckExecutionRecordStatus.PLANNED.value,
                    evaluation_event=serialize_value(event),
                    evaluation_event_timestamp=self._event_insert_timestamp(event),
                    evaluation_event_storage_id=event_id,
                )
            )

    def _has_asset_key_col_on_connection(self, conn: Connection, column_name: str) -> bool:
        # Asked (by reflecting the table) for every asset event; columns never go away.
        if column_name not in self._asset_key_cols_seen:
            if not super()._has_asset_key_col_on_connection(conn, column_name):
                return False
            self._asset_key_cols_seen.add(column_name)
        return True

    @property
    def supports_partition_subset_in_asset_materialization_planned_events(self) -> bool:
        # One planned event per asset for a range run, instead of one per asset and day; the
        # index still gets a row per partition (_store_asset_events).
        return True

    def has_table(self, table_name: str) -> bool:
        # Asked for every asset event, each time through a new engine; tables never go away.
        if table_name not in self._tables_seen and super().has_table(table_name):
            self._tables_seen.add(table_name)
        return table_name in self._tables_seen


@contextmanager
def _creation_lock(base_dir: str) -> Iterator[None]:
    """Holds an exclusive lock on ``<base_dir>/.storage.lock`` while the storage is opened.

    Opening creates the SQLite databases and stamps their schema version on a new instance. Two
    processes doing that at once (two `dagster asset materialize` started together on a new
    DAGSTER_HOME) collide: the second fails with ``table alembic_version already exists``.
    Taking turns costs milliseconds once the files exist.
    """
    Path(base_dir).mkdir(parents=True, exist_ok=True)
    lock_path = Path(base_dir) / ".storage.lock"
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# The asset events written in bulk; `_get_asset_entry_values` knows each of them.
BULK_EVENT_TYPES = frozenset(
    {
        DagsterEventType.ASSET_MATERIALIZATION,
        DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
        DagsterEventType.ASSET_FAILED_TO_MATERIALIZE,
    }
)


def _bulk_group(event: EventLogEntry) -> tuple[str, bool]:
    return event.run_id, event.is_dagster_event and event.dagster_event_type in BULK_EVENT_TYPES


class ProjectSqliteStorage(DagsterSqliteStorage):
    """`storage: sqlite` (same files under base_dir) with the batching event log above.

    It also turns Dagster's event batching on (`DAGSTER_EVENT_BATCH_SIZE`, unless already set):
    without it Dagster never hands a batch to the storage.
    """

    def __init__(
        self,
        base_dir: str,
        inst_data: ConfigurableClassData | None = None,
        event_batch_size: int = DEFAULT_EVENT_BATCH_SIZE,
    ) -> None:
        self.base_dir = base_dir
        with _creation_lock(base_dir):
            self._run_storage = SqliteRunStorage.from_local(_runs_directory(base_dir))
            self._event_log_storage = BatchingSqliteEventLogStorage(_event_logs_directory(base_dir))
            self._schedule_storage = SqliteScheduleStorage.from_local(_schedule_directory(base_dir))
        self._inst_data = inst_data
        os.environ.setdefault(EVENT_BATCH_SIZE_ENV, str(event_batch_size))
        DagsterStorage.__init__(self)

    @classmethod
    def config_type(cls) -> dict:
        return {
            "base_dir": Field(StringSource, is_required=False),
            "event_batch_size": Field(
                int, is_required=False, default_value=DEFAULT_EVENT_BATCH_SIZE
            ),
        }

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData, config_value: dict
    ) -> ProjectSqliteStorage:
        config_value = {**config_value, "base_dir": instance_base_dir(config_value)}
        mkdir_p(config_value["base_dir"])
        return cls(inst_data=inst_data, **config_value)


def instance_base_dir(config_value: dict) -> str:
    """Where the run history lives: `base_dir` if configured, else $DAGSTER_HOME, else the
    current folder.

    dagster.yaml names no `base_dir` so that it also works with DAGSTER_HOME unset: Dagster then
    reads the dagster.yaml of the current folder (`uv run dagster dev` in the repository), and
    the history goes beside it, as with `DAGSTER_HOME=$PWD`.
    """
    return config_value.get("base_dir") or os.environ.get("DAGSTER_HOME") or os.getcwd()
