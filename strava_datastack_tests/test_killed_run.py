"""A run killed with SIGKILL (OOM killer, a closed laptop, `kill -9`) loses nothing.

The run is `dagster asset materialize` in its own process group, killed at two moments: while it
is still asking Strava (extract), and once dlt has a normalized load package (about to load, or
loading). The warehouse must open, show no partition as done that is not complete, and the
same command run again must finish (the dead run marked failed, its writer slot freed) and
leave exactly one clean copy of the range.
"""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from strava_datastack_tests.helpers import (
    REPO_ROOT,
    expected_activity_ids,
    materialize_command,
    warehouse_counts,
)

RANGE = ("2025-06-01", "2025-06-14")
KEYS_UNIQUE_PER_TABLE = {
    "activities": "id",
    "activity_details": "id",
    "activity_streams": "activity_id, sample_index",
}


def start_materialize(data_dir: Path) -> subprocess.Popen:
    return subprocess.Popen(
        materialize_command("group:ingest", "--partition-range", "...".join(RANGE)),
        cwd=REPO_ROOT,
        env=os.environ.copy(),
        stdout=open(data_dir / "run.log", "w"),  # noqa: SIM115 - the child owns it
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def kill_when(proc: subprocess.Popen, moment, timeout_s: float = 300) -> bool:
    """Kills the run's process group once ``moment()`` is true; False if it finished first."""
    deadline = time.monotonic() + timeout_s
    while not moment():
        if proc.poll() is not None:
            return False
        assert time.monotonic() < deadline, "the kill moment never came"
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return True


def duplicated_keys(data_dir: Path) -> dict[str, int]:
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
        return {
            table: con.execute(
                f"select count(*) - count(distinct ({key})) from strava.{table}"
            ).fetchone()[0]
            for table, key in KEYS_UNIQUE_PER_TABLE.items()
            if table in tables
        }
    finally:
        con.close()


def at_extract(emulator):
    return lambda: emulator.usage()["total_requests"] >= 8


def at_load(data_dir: Path):
    normalized = data_dir / "dlt_pipelines" / "strava_datastack" / "load" / "normalized"
    return lambda: normalized.is_dir() and any(normalized.iterdir())


@pytest.mark.parametrize("moment", ["extract", "load"])
def test_a_killed_run_loses_nothing_and_the_rerun_completes(
    strava_env, data_dir, dagster_home, moment
):
    emulator = strava_env
    proc = start_materialize(data_dir)
    when = at_extract(emulator) if moment == "extract" else at_load(data_dir)
    run_log = (data_dir / "run.log").read_text
    assert kill_when(proc, when), f"the run finished before the {moment} moment:\n{run_log()}"

    instance = dg.DagsterInstance.get()
    done = set(instance.get_materialized_partitions(dg.AssetKey(["strava", "activities"])))
    if (data_dir / "warehouse.duckdb").exists():
        # Whatever a killed load left must be whole rows, and a day counted done must be loaded.
        assert not any(duplicated_keys(data_dir).values())
        con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
        tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
        loaded = (
            {r[0] for r in con.execute("select id from strava.activities").fetchall()}
            if "activities" in tables
            else set()
        )
        con.close()
        for day in done:
            assert expected_activity_ids(emulator, day, day) <= loaded, day
    else:
        assert not done

    # Without anything marking it dead, the killed run would hold the DuckDB writer slot and
    # this run would wait for it forever.
    rerun = start_materialize(data_dir)
    assert rerun.wait(timeout=300) == 0, run_log()[-3000:]
    statuses = sorted(r.status.value for r in instance.get_runs())
    assert statuses == ["FAILURE", "SUCCESS"]
    [failed] = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]))
    [failure] = instance.all_logs(failed.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    assert "killed or crashed" in failure.message
    assert re.search(r"died without finishing \(pid \d+\): marked failed, 1 writer slot", run_log())
    days = {f"2025-06-{d:02d}" for d in range(1, 15)}
    assert set(instance.get_materialized_partitions(dg.AssetKey(["strava", "activities"]))) == days
    counts = warehouse_counts(data_dir)
    assert counts["activities"] == len(expected_activity_ids(emulator, *RANGE))
    assert counts["activity_streams"] > 1000
    assert duplicated_keys(data_dir) == dict.fromkeys(KEYS_UNIQUE_PER_TABLE, 0)
