"""How users drive the code location, through the real `dagster-webserver` and `dagster-daemon`.

One webserver + daemon pair (with its own emulator, data dir and DAGSTER_HOME) serves the whole
module: loading the code location costs each process seconds on a small machine, and every run
builds the dbt project. So the module loads its data once, in a way that exercises two paths:

- UI backfills + concurrency: two backfills over overlapping ranges (2025-06-24...06-28 and
  2025-06-26...07-01), launched together through GraphQL as the UI does, on the empty warehouse
  (the daemon runs each as a chain: a run per partitioning, see the backfill test);
- range rerun: 2025-06-25...06-27 again, through the UI;
- schedule: the tick of 2025-07-01 04:00 UTC, i.e. 2025-06-24...07-01 (today and 7 days back).

Everything adds up to 2025-06-24...07-01, which is the range of the one clean reference load
(`dagster asset materialize`, in an instance and warehouse of its own) that the warehouse must
equal after the concurrent backfills and after the scheduled run.

Only the ingest and transform groups are backfilled, with the automation sensor stopped: the
Evidence site takes minutes to build. It is built once, at the end, where the sensor is started
to follow the scheduled run as it would in production.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
import yaml

from strava_datastack.defs import run_tags
from strava_datastack_tests.dagster_processes import (
    DagsterProcesses,
    GraphQLClient,
    launch_asset_backfill,
    running_dagster,
    sensor_ticks,
    start_sensor,
    stop_automation_sensors,
    stop_schedules,
    wait_for_backfill,
    wait_for_run,
)
from strava_datastack_tests.helpers import (
    EMULATOR_NOW,
    REPO_ROOT,
    emulator_env,
    materialized_in_run,
)

LOCATION = "strava_datastack"
REPOSITORY = "__repository__"

OVERLAPPING_RANGES = (("2025-06-24", "2025-06-28"), ("2025-06-26", "2025-07-01"))
RERUN_RANGE = ("2025-06-25", "2025-06-27")
SCHEDULE_TICK = datetime(2025, 7, 1, 4, 0, tzinfo=UTC)
SCHEDULE_RANGE = ("2025-06-24", "2025-07-01")  # the tick's day and the 7-day lookback
FULL_RANGE = SCHEDULE_RANGE  # everything this module loads


def days(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]


# --- the warehouse ---------------------------------------------------------------------------

# Bookkeeping, not data: which windows were listed (a range loaded in pieces lists other windows
# than a single load does) and when dlt loaded (wall clock). Everything else must be identical.
NOT_COMPARED_TABLES = {"strava.activity_listings"}
NOT_COMPARED_COLUMNS = {"loaded_at_utc"}


def warehouse_fingerprint(path: Path) -> dict[str, tuple[int, int]]:
    """Row count and an order-independent checksum of every data table and dbt model.

    The checksum sums a hash per row, so a duplicated row changes it. dlt's `_dlt_*` columns
    (load ids, random row ids) are left out; doubles are rounded to 6 decimals so that a sum
    computed in another row order compares equal.
    """
    con = duckdb.connect(str(path), read_only=True)
    try:
        columns = con.execute(
            "select table_schema, table_name, column_name, data_type "
            "from information_schema.columns "
            "where table_schema in ('strava', 'staging', 'intermediate', 'marts') "
            "and table_name not like '\\_dlt\\_%' escape '\\' "
            "order by table_schema, table_name, ordinal_position"
        ).fetchall()
        by_table: dict[str, list[str]] = {}
        for schema, table, column, data_type in columns:
            name = f"{schema}.{table}"
            by_table.setdefault(name, [])
            if column.startswith("_dlt_") or column in NOT_COMPARED_COLUMNS:
                continue
            expression = f'"{column}"'
            if data_type in ("DOUBLE", "FLOAT", "REAL"):
                expression = f"round({expression}, 6)"
            by_table[name].append(expression)
        fingerprint = {}
        for name, expressions in sorted(by_table.items()):
            if name in NOT_COMPARED_TABLES:
                continue
            schema, table = name.split(".")
            row_hash = f"hash({', '.join(expressions)})" if expressions else "0"
            count, checksum = con.execute(
                f'select count(*), coalesce(sum({row_hash}), 0) from "{schema}"."{table}"'
            ).fetchone()
            fingerprint[name] = (count, int(checksum))
        return fingerprint
    finally:
        con.close()


def query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def activity_ids(path: Path, table: str, id_column: str, first: str, last: str, day_expr: str):
    rows = query(
        path,
        f"select {id_column} from {table} "
        f"where cast({day_expr} as date) between '{first}' and '{last}'",
    )
    ids = [row[0] for row in rows]
    assert len(ids) == len(set(ids)), f"{table} holds an activity twice: {sorted(ids)}"
    return set(ids)


def emulator_activity_ids(emulator, first: str, last: str) -> set[int]:
    return {a["id"] for a in emulator.athlete.activities if first <= a["start_date"][:10] <= last}


def assert_activities_loaded(stack: Stack, first: str, last: str) -> None:
    expected = emulator_activity_ids(stack.emulator, first, last)
    assert expected, "the range should hold activities of the demo athlete"
    warehouse = stack.data_dir / "warehouse.duckdb"
    assert activity_ids(warehouse, "strava.activities", "id", first, last, "start_date") == expected
    marts = activity_ids(
        warehouse, "marts.fct_activities", "activity_id", first, last, "start_at_utc"
    )
    assert marts == expected


def test_fingerprint_sees_duplicates_and_changes_but_not_dlt_bookkeeping(tmp_path):
    path = tmp_path / "warehouse.duckdb"

    def fingerprint_after(*statements: str) -> dict[str, tuple[int, int]]:
        con = duckdb.connect(str(path))
        for statement in statements:
            con.execute(statement)
        con.close()
        return warehouse_fingerprint(path)

    original = fingerprint_after(
        "create schema strava",
        "create table strava.activities (id bigint, distance double, _dlt_id varchar)",
        "insert into strava.activities values (1, 1000.0, 'a'), (2, 2000.0, 'b')",
    )
    assert original["strava.activities"][0] == 2
    assert fingerprint_after("update strava.activities set _dlt_id = 'c'") == original
    edited = fingerprint_after("update strava.activities set distance = 1001 where id = 1")
    assert edited["strava.activities"][0] == 2 and edited != original
    duplicated = fingerprint_after("insert into strava.activities values (2, 2000.0, 'd')")
    assert duplicated["strava.activities"][0] == 3


# --- the module's Dagster ------------------------------------------------------------------


@dataclass
class Stack:
    procs: DagsterProcesses
    instance: dg.DagsterInstance
    emulator: Any
    data_dir: Path
    env: dict[str, str]
    ingest_and_transform_keys: list[str]
    # Of those, the daily-partitioned ones (raw tables, windowed models); the rest are rebuilt
    # whole, one materialization per run.
    partitioned_keys: set[str]
    # The schedules as the daemon had them at start (they are stopped for the module's runs).
    schedules_at_start: dict[str, dict[str, Any]]

    @property
    def graphql(self) -> GraphQLClient:
        return self.procs.graphql

    def materialized(self, key: str) -> set[str]:
        return set(self.instance.get_materialized_partitions(dg.AssetKey(key.split("/"))))

    def runs_of(self, backfill: dict[str, Any]) -> list[dg.DagsterRun]:
        """The backfill's runs, oldest first."""
        records = [self.instance.get_run_record_by_id(run["id"]) for run in backfill["runs"]]
        return [r.dagster_run for r in sorted(records, key=lambda r: r.create_timestamp)]

    def backfill(self, first: str, last: str, title: str = "") -> str:
        return launch_asset_backfill(
            self.graphql, self.ingest_and_transform_keys, days(first, last), title
        )

    def run_logs(self, run_id: str) -> str:
        return "\n".join(e.message or "" for e in self.instance.all_logs(run_id))

    def run_errors(self, run_id: str) -> str:
        """The failed steps' errors of a run, for assertion messages."""
        errors = []
        for event in self.instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
            error = getattr(event.dagster_event.event_specific_data, "error", None)
            text = error.to_string()[-2000:] if error else event.message
            errors.append(f"{event.step_key}: {text}")
        return "\n".join(errors) or self.run_logs(run_id)[-3000:]


def new_emulator(emulator_class):
    """A started emulator with the conftest's frozen clock and room for the whole module.

    The clock is frozen, so the 15-minute rate-limit window never resets: the limits are raised.
    """
    emulator = emulator_class(seed=1, clock_start=datetime.fromisoformat(EMULATOR_NOW))
    emulator.set_limits(read=(5000, 50000), overall=(10000, 100000))
    return emulator.start()


ASSET_NODES = "{ assetNodes { assetKey { path } groupName isMaterializable isPartitioned } }"


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    from strava_datastack.emulator import StravaEmulator

    root = tmp_path_factory.mktemp("e2e_dagster")
    home = root / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_bytes((REPO_ROOT / "dagster.yaml").read_bytes())
    data_dir = root / "data"
    data_dir.mkdir()
    emulator = new_emulator(StravaEmulator)
    with emulator, pytest.MonkeyPatch.context() as monkeypatch:
        env = {
            **os.environ,
            **emulator_env(emulator),
            "DAGSTER_HOME": str(home),
            "STRAVA_DATASTACK_DATA_DIR": str(data_dir),
        }
        monkeypatch.setenv("DAGSTER_HOME", str(home))  # DagsterInstance.get() below
        with running_dagster(env, REPO_ROOT, root / "logs") as procs:
            # The site is not this module's business: should the automation sensor be declared
            # running, it would build it (minutes) after every backfill.
            stop_automation_sensors(procs.graphql, LOCATION)
            schedules = stop_schedules(procs.graphql, LOCATION)
            nodes = procs.graphql.query(ASSET_NODES)["assetNodes"]
            job_nodes = {
                "/".join(n["assetKey"]["path"]): n
                for n in nodes
                if n["groupName"] in ("ingest", "transform") and n["isMaterializable"]
            }
            keys = sorted(job_nodes)
            partitioned = {k for k, n in job_nodes.items() if n["isPartitioned"]}
            with dg.DagsterInstance.get() as instance:
                yield Stack(procs, instance, emulator, data_dir, env, keys, partitioned, schedules)


class ReferenceLoad:
    """`dagster asset materialize` of FULL_RANGE in one run, into an instance and warehouse of its
    own: the "single clean load" the module's warehouse is compared with."""

    def __init__(self, stack: Stack, root: Path) -> None:
        from strava_datastack.emulator import StravaEmulator

        home, self.data_dir, self.log = root / "dagster_home", root / "data", root / "load.log"
        home.mkdir(parents=True)
        self.data_dir.mkdir()
        (home / "dagster.yaml").write_bytes((REPO_ROOT / "dagster.yaml").read_bytes())
        # An emulator of its own (same seed and clock, so the same athlete): the emulator rotates
        # refresh tokens, so two token stores cannot share one.
        self.emulator = new_emulator(StravaEmulator)
        env = {
            **stack.env,
            **emulator_env(self.emulator),
            "DAGSTER_HOME": str(home),
            "STRAVA_DATASTACK_DATA_DIR": str(self.data_dir),
        }
        with self.log.open("wb") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "dagster"),
                    "asset",
                    "materialize",
                    "-m",
                    "strava_datastack.definitions",
                    "--select",
                    "group:ingest or group:transform",
                    "--partition-range",
                    f"{FULL_RANGE[0]}...{FULL_RANGE[1]}",
                ],
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                # A file, not a pipe: nobody reads the (long) event log until the load is done.
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._fingerprint: dict[str, tuple[int, int]] | None = None

    def fingerprint(self) -> dict[str, tuple[int, int]]:
        """Waits for the load (once) and fingerprints its warehouse."""
        if self._fingerprint is None:
            self.process.wait(timeout=900)
            output = self.log.read_text(errors="replace")
            assert self.process.returncode == 0, f"reference load failed:\n{output[-3000:]}"
            self._fingerprint = warehouse_fingerprint(self.data_dir / "warehouse.duckdb")
        return self._fingerprint

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.emulator.stop()


@pytest.fixture(scope="module")
def clean_reference(stack: Stack, tmp_path_factory) -> Iterator[ReferenceLoad]:
    """Starts the reference load; tests take its fingerprint when they need it.

    It runs beside the daemon's runs, in an instance of its own: the daemon's runs take turns on
    the duckdb_writer pool and wait for daemon ticks, so a core would otherwise mostly idle.
    """
    load = ReferenceLoad(stack, tmp_path_factory.mktemp("reference"))
    try:
        yield load
    finally:
        load.stop()


@dataclass
class OverlappingBackfills:
    backfills: list[dict[str, Any]]
    run_ids: list[str]


@pytest.fixture(scope="module")
def overlapping_backfills(stack: Stack, clean_reference: ReferenceLoad) -> OverlappingBackfills:
    """Two UI backfills over overlapping ranges, launched together on the empty warehouse.

    The clean reference load (started by its fixture, just before) runs meanwhile.
    """
    ids = [stack.backfill(first, last, title="overlap") for first, last in OVERLAPPING_RANGES]
    backfills = [wait_for_backfill(stack.procs, backfill_id) for backfill_id in ids]
    run_ids = [run["id"] for backfill in backfills for run in backfill["runs"]]
    return OverlappingBackfills(backfills, run_ids)


def diff(expected: dict, got: dict) -> dict:
    return {
        key: (expected.get(key), got.get(key))
        for key in sorted(expected.keys() | got.keys())
        if expected.get(key) != got.get(key)
    }


def assert_backfill_succeeded(stack: Stack, backfill: dict[str, Any]) -> None:
    failed = [r["id"] for r in backfill["runs"] if r["status"] != "SUCCESS"]
    logs = "\n".join(stack.run_errors(run_id) for run_id in failed)
    assert backfill["status"] == "COMPLETED_SUCCESS", f"{backfill}\n{logs}"
    assert backfill["runs"] and not failed, f"{backfill}\n{logs}"


# --- the tests -------------------------------------------------------------------------------


def test_ui_backfills_materialize_every_asset_of_their_range_in_one_chain_of_runs(
    stack, overlapping_backfills
):
    """The daemon never puts assets of different partitionings in one run, so a backfill of the
    ingest and transform groups goes through the graph as a chain of runs, each launched once
    its parents are done: the dated raw tables over the range first (the athlete's undated ones
    in a run of their own), then by turns the models rebuilt whole and the windowed models (the
    range again, each asset in one run: single-run backfill policy)."""
    from strava_datastack.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = stack.ingest_and_transform_keys
    for backfill, (first, last) in zip(
        overlapping_backfills.backfills, OVERLAPPING_RANGES, strict=True
    ):
        assert_backfill_succeeded(stack, backfill)
        assert backfill["partitionNames"] == days(first, last)
        runs = stack.runs_of(backfill)
        chain = [sorted(k.to_user_string() for k in run.asset_selection) for run in runs]
        # A chain of runs in dependency order, its length set by timing (Dagster 1.13): the
        # daemon launches whatever has its parents done at each tick, and a run's assets are
        # done one by one, so the unpartitioned models go in two to four runs (five to eight in
        # all, seen), and a windowed model with an unpartitioned parent (fct_activity_zones reads
        # dim_athlete_zones) may go in a ranged run of its own when that parent finishes late.
        # What does not depend on timing: the raw tables in one ranged run, the windowed models in
        # one or more, each run over the whole range; every asset once, after its parents.
        assert len(runs) >= 5, "\n".join(" ".join(run_keys) for run_keys in chain)
        ranged_runs = [run_keys for run_keys in chain if set(run_keys) <= stack.partitioned_keys]
        assert len(ranged_runs) >= 2, ranged_runs
        done: set[str] = set()
        for run, run_keys in zip(runs, chain, strict=True):
            ranged = set(run_keys) <= stack.partitioned_keys
            assert ranged or not set(run_keys) & stack.partitioned_keys, run_keys
            assert run_tags.run_range(run.tags) == ((first, last) if ranged else None), run_keys
            for key in run_keys:
                parents = {
                    p.to_user_string() for p in graph.get(dg.AssetKey(key.split("/"))).parent_keys
                }
                waiting = (parents & set(keys)) - done - set(run_keys)
                assert not waiting, f"{key} ran before its parents {waiting}"
            assert not done & set(run_keys), "an asset ran twice"
            done |= set(run_keys)
        assert done == set(keys), "every asset of the groups, each in one run of the chain"
        # The dated raw tables over the range in one run; the athlete's undated ones in another.
        dated_raw = {k for k in keys if k.startswith("strava/")} & stack.partitioned_keys
        assert any(dated_raw <= set(run_keys) for run_keys in chain), "the raw tables in one run"

    assert any(k.startswith("strava/") for k in keys)
    assert any(k.startswith("marts/") for k in keys)
    wrong = {
        key: sorted(stack.materialized(key))
        for key in sorted(stack.partitioned_keys)
        if stack.materialized(key) != set(days(*FULL_RANGE))
    }
    assert not wrong, f"materialized partitions differ from the backfills' ranges: {wrong}"
    # The models rebuilt whole: once per backfill, with no partition.
    for key in set(keys) - stack.partitioned_keys:
        records = stack.instance.fetch_materializations(dg.AssetKey(key.split("/")), 10).records
        partitions = [r.asset_materialization.partition for r in records]
        assert partitions == [None] * len(OVERLAPPING_RANGES), (key, partitions)
    assert not stack.materialized("evidence/site")  # not selected, not requested by automation

    assert_activities_loaded(stack, *FULL_RANGE)
    warehouse = stack.data_dir / "warehouse.duckdb"
    [(samples,)] = query(warehouse, "select count(*) from strava.activity_streams")
    assert samples > 1000


def test_overlapping_backfills_take_turns_and_equal_one_clean_load(
    stack, overlapping_backfills, clean_reference
):
    for backfill in overlapping_backfills.backfills:
        assert_backfill_succeeded(stack, backfill)
    run_ids = overlapping_backfills.run_ids
    for run_id in run_ids:
        assert "Could not set lock" not in stack.run_logs(run_id)
    # The first runs (the raw tables) existed at the same time: the run queue holds a run while
    # the duckdb_writer slot is taken (and a step would wait for it), so they took turns on the
    # warehouse.
    firsts = [stack.runs_of(b)[0].run_id for b in overlapping_backfills.backfills]
    records = [stack.instance.get_run_record_by_id(run_id) for run_id in firsts]
    created = [r.create_timestamp.timestamp() for r in records]
    assert max(created) < min(r.end_time for r in records), "the backfills did not meet"

    clean = clean_reference.fingerprint()
    expected = emulator_activity_ids(stack.emulator, *FULL_RANGE)
    assert clean["strava.activities"][0] == clean["marts.fct_activities"][0] == len(expected)
    differ = diff(clean, warehouse_fingerprint(stack.data_dir / "warehouse.duckdb"))
    assert not differ, f"warehouse != one clean load; (clean, got) per table: {differ}"


def test_range_rerun_through_the_ui_leaves_the_warehouse_identical(stack, overlapping_backfills):
    for backfill in overlapping_backfills.backfills:
        assert_backfill_succeeded(stack, backfill)
    warehouse = stack.data_dir / "warehouse.duckdb"
    before = warehouse_fingerprint(warehouse)
    assert before["strava.activities"][0] > 0
    activities = dg.AssetKey(["strava", "activities"])
    materializations_before = len(stack.instance.fetch_materializations(activities, 1000).records)

    backfill = wait_for_backfill(stack.procs, stack.backfill(*RERUN_RANGE, title="rerun"))

    assert_backfill_succeeded(stack, backfill)
    # The range really ran again: one more materialization per day.
    materializations_after = len(stack.instance.fetch_materializations(activities, 1000).records)
    assert materializations_after == materializations_before + len(days(*RERUN_RANGE))
    changed = diff(before, warehouse_fingerprint(warehouse))
    assert not changed, f"a rerun changed the warehouse (rows, checksum): {changed}"
    assert_activities_loaded(stack, *RERUN_RANGE)


def test_daily_refresh_tick_requests_today_and_the_lookback():
    """The schedule evaluated in process, the way the daemon evaluates a tick."""
    from strava_datastack.definitions import defs

    schedule = defs.resolve_schedule_def("daily_refresh")
    assert schedule.cron_schedule == "0 4 * * *"
    assert schedule.execution_timezone == "UTC"
    context = dg.build_schedule_context(scheduled_execution_time=SCHEDULE_TICK)
    [request] = schedule.evaluate_tick(context).run_requests
    assert request.tags["dagster/asset_partition_range_start"] == SCHEDULE_RANGE[0]
    assert request.tags["dagster/asset_partition_range_end"] == SCHEDULE_RANGE[1]
    assert request.tags["strava-datastack/daily-refresh"] == "true"
    assert request.run_key == f"daily-{SCHEDULE_RANGE[1]}"


SCHEDULE_DRY_RUN = """
mutation DryRun($selector: ScheduleSelector!, $timestamp: Float!) {
  scheduleDryRun(selectorData: $selector, timestamp: $timestamp) {
    __typename
    ... on DryRunInstigationTick {
      timestamp
      evaluationResult {
        runRequests { runKey runConfigYaml jobName tags { key value } }
        skipReason
        error { message stack }
      }
    }
    ... on PythonError { message stack }
  }
}
"""

LAUNCH_RUN = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message stack }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on InvalidSubsetError { message }
  }
}
"""


def test_daily_refresh_tick_runs_through_the_daemon(stack, clean_reference):
    """The schedule's tick at a fixed time, evaluated by the code server and run by the daemon.

    The daemon ticks on the wall clock (next 04:00 UTC), so a tick at a fixed time is taken the
    way the UI's "Test schedule" dialog takes it: `scheduleDryRun` evaluates the schedule in the
    code location at that time, and the run request is launched as the scheduler would launch it
    (same job, tags and config, plus the schedule's name); the daemon's run queue runs it.
    The site then follows through the automation sensor, as after a real tick.
    """
    selector = {
        "repositoryLocationName": LOCATION,
        "repositoryName": REPOSITORY,
        "scheduleName": "daily_refresh",
    }
    schedule = stack.schedules_at_start["daily_refresh"]
    assert schedule["scheduleState"]["status"] == "RUNNING", "the daemon would not tick it"
    assert (schedule["cronSchedule"], schedule["executionTimezone"]) == ("0 4 * * *", "UTC")
    [next_tick] = schedule["futureTicks"]["results"]
    next_tick_at = datetime.fromtimestamp(next_tick["timestamp"], UTC)
    assert (next_tick_at.hour, next_tick_at.minute) == (4, 0)
    assert timedelta(0) < next_tick_at - datetime.now(UTC) <= timedelta(days=1)

    dry_run = stack.graphql.query(
        SCHEDULE_DRY_RUN,
        {"selector": selector, "timestamp": (SCHEDULE_TICK - timedelta(minutes=1)).timestamp()},
    )["scheduleDryRun"]
    assert dry_run["__typename"] == "DryRunInstigationTick", dry_run
    evaluation = dry_run["evaluationResult"]
    assert not evaluation["error"], evaluation["error"]
    [request] = evaluation["runRequests"]
    tags = {t["key"]: t["value"] for t in request["tags"]}
    assert tags["dagster/asset_partition_range_start"] == SCHEDULE_RANGE[0]
    assert tags["dagster/asset_partition_range_end"] == SCHEDULE_RANGE[1]
    assert tags["strava-datastack/daily-refresh"] == "true"
    assert request["runKey"] == f"daily-{SCHEDULE_RANGE[1]}"

    site_runs_before = start_site_automation(stack)
    launched = stack.graphql.query(
        LAUNCH_RUN,
        {
            "params": {
                "selector": {
                    "repositoryLocationName": LOCATION,
                    "repositoryName": REPOSITORY,
                    "jobName": request["jobName"] or "ingest_and_transform",
                },
                "runConfigData": yaml.safe_load(request["runConfigYaml"]) or {},
                "executionMetadata": {
                    "tags": [
                        *request["tags"],
                        {"key": "dagster/schedule_name", "value": "daily_refresh"},
                    ]
                },
            }
        },
    )["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run = wait_for_run(stack.procs, launched["run"]["runId"])
    assert run["status"] == "SUCCESS", stack.run_errors(run["id"])

    # One run for the whole job: the windowed assets get every day of the range, the models
    # rebuilt whole one materialization.
    for key in stack.ingest_and_transform_keys:
        in_run = materialized_in_run(stack.instance, run["id"], key)
        if key in stack.partitioned_keys:
            assert sorted(in_run) == days(*SCHEDULE_RANGE), key
        else:
            assert in_run == [None], key
    assert_activities_loaded(stack, *SCHEDULE_RANGE)
    # Everything this module loaded is SCHEDULE_RANGE: the warehouse equals one clean load of it.
    got = warehouse_fingerprint(stack.data_dir / "warehouse.duckdb")
    differ = diff(clean_reference.fingerprint(), got)
    assert not differ, f"warehouse != one clean load; (clean, got) per table: {differ}"

    # The site follows through declarative automation (the sensor was stopped for the module's
    # backfills): once after the scheduled run, then never again while nothing upstream changes.
    site_run = wait_for_new_site_run(stack, site_runs_before)
    assert site_run["status"] == "SUCCESS", stack.run_errors(site_run["id"])
    event = stack.instance.get_latest_materialization_event(SITE_KEY)
    metadata = event.asset_materialization.metadata
    assert metadata["site_path"].value == str(stack.data_dir / "site")
    assert metadata["pages_built"].value > 5
    assert (stack.data_dir / "site" / "index.html").is_file()
    assert_no_site_run_for_two_ticks(stack, after=event.timestamp)


SITE_KEY = dg.AssetKey(["evidence", "site"])
AUTOMATION_SENSOR = "default_automation_condition_sensor"
SENSOR_INTERVAL_S = 30  # Dagster's default for the automation condition sensor


def site_runs(stack: Stack) -> list[dg.DagsterRun]:
    """Runs that build the site, oldest first."""
    runs = stack.instance.get_runs()
    return [r for r in reversed(runs) if r.asset_selection and SITE_KEY in r.asset_selection]


def ticks_after(stack: Stack, timestamp: float) -> list[dict[str, Any]]:
    ticks = sensor_ticks(stack.graphql, LOCATION, AUTOMATION_SENSOR)
    return [t for t in ticks if t["timestamp"] > timestamp and t["status"] != "STARTED"]


def start_site_automation(stack: Stack) -> int:
    """Starts the automation sensor and lets it settle; returns how many site runs exist then.

    Its first tick after the start is its baseline. Should it have kept an evaluation from
    before it was stopped, that tick builds the site for the backfills: let that run finish.
    """
    started_at = time.time()
    start_sensor(stack.graphql, LOCATION, AUTOMATION_SENSOR)
    deadline = time.monotonic() + 4 * SENSOR_INTERVAL_S
    while not ticks_after(stack, started_at):
        stack.procs.check_alive()
        assert time.monotonic() < deadline, f"the sensor did not tick\n{stack.procs.logs()}"
        time.sleep(2)
    for run in site_runs(stack):
        wait_for_run(stack.procs, run.run_id, timeout_s=900)
    return len(site_runs(stack))


def wait_for_new_site_run(stack: Stack, runs_before: int, timeout_s: float = 900) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while len(site_runs(stack)) == runs_before:
        stack.procs.check_alive()
        assert time.monotonic() < deadline, f"no site run after {timeout_s}s\n{stack.procs.logs()}"
        time.sleep(2)
    run = site_runs(stack)[runs_before]
    return wait_for_run(stack.procs, run.run_id, timeout_s=max(deadline - time.monotonic(), 60))


def assert_no_site_run_for_two_ticks(stack: Stack, after: float) -> None:
    runs = len(site_runs(stack))
    deadline = time.monotonic() + 6 * SENSOR_INTERVAL_S
    while len(later := ticks_after(stack, after)) < 2:
        assert time.monotonic() < deadline, f"the sensor did not tick twice: {later}"
        time.sleep(5)
    assert all(not t["runIds"] for t in later), later
    assert len(site_runs(stack)) == runs
