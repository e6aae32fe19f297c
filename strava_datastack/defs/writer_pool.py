"""The DuckDB writer pool, kept free of runs whose process died.

A run killed with SIGKILL (out of memory, `kill -9`, a reboot) never reports its end: Dagster
keeps it STARTED and keeps its slot in the `duckdb_writer` pool, so every later ingest or dbt run
would wait for that slot forever. The default run launcher cannot check a run's process, so the
runs that need the slot do: before their steps claim it, they mark dead runs as failed (which
also lets Dagster's run retries launch them again) and free the slots those runs held.

A run is dead when the process that started it no longer exists. That test is only meaningful on
the machine that ran it, which holds here: the instance is SQLite under DAGSTER_HOME, so every
run of it runs on this machine.
"""

from __future__ import annotations

import os

import dagster as dg


def _started_by(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The pid of the process that started the run (None if it has not started)."""
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.RUN_START, limit=1
    ).records
    if not records or records[0].event_log_entry.dagster_event is None:
        return None
    return records[0].event_log_entry.dagster_event.pid


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # somebody else's process
    return True


def dead_runs(instance: dg.DagsterInstance) -> list[tuple[dg.DagsterRun, int]]:
    """Runs Dagster believes are running whose process is gone, with that process's pid."""
    found = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
        pid = _started_by(instance, run.run_id)
        if pid is not None and not _process_exists(pid):
            found.append((run, pid))
    return found


def _slots_held_by(instance: dg.DagsterInstance, run_id: str) -> int:
    """How many pool slots the run holds (Dagster's call that frees them returns nothing)."""
    storage = instance.event_log_storage
    return sum(
        1
        for pool in storage.get_concurrency_keys()
        for slot in storage.get_concurrency_info(pool).claimed_slots
        if slot.run_id == run_id
    )


def fail_dead_runs(instance: dg.DagsterInstance, log) -> list[str]:
    """Marks dead runs failed and frees their pool slots; returns their run ids."""
    failed = []
    for run, pid in dead_runs(instance):
        instance.report_run_failed(
            run,
            message=(
                f"The process running this run (pid {pid}) is gone: it was killed or crashed "
                "before it could finish. Marked failed so its DuckDB writer slot is free again. "
                "What it loaded before it died is either fully in the warehouse or not at all; "
                "run its partitions again to finish them."
            ),
        )
        freed = _slots_held_by(instance, run.run_id)
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        log.warning(
            f"Run {run.run_id} died without finishing (pid {pid}): marked failed, "
            f"{freed} writer slot(s) freed."
        )
        failed.append(run.run_id)
    return failed


class WriterPool(dg.ConfigurableResource):
    """Required by every asset that writes the warehouse: frees the pool of dead runs first.

    Resources are set up when the run starts, before its steps claim pool slots (the in-process
    executor claims per step), which is what makes this the place to do it.
    """

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if context.instance is not None:
            fail_dead_runs(context.instance, context.log)
