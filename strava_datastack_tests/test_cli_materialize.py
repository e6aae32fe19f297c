"""`dagster asset materialize` in a subprocess, as a user runs it, against the emulator."""

import os
import subprocess

import dagster as dg
import duckdb

from strava_datastack_tests.helpers import (
    REPO_ROOT,
    expected_activity_ids,
    materialize,
    materialize_command,
    materialized_in_run,
    warehouse_counts,
)

# Ingest and the dbt models behind fct_activities: the full dbt build is covered by the demo
# and end-to-end tests; here it would only add minutes.
INGEST_AND_DBT = 'group:ingest or +key:"marts/fct_activities"'


def materialized(instance: dg.DagsterInstance, key: list[str]) -> set[str]:
    return set(instance.get_materialized_partitions(dg.AssetKey(key)))


def test_one_partition_then_a_range_in_one_run_then_the_same_range_again(
    strava_env, data_dir, dagster_home
):
    emulator = strava_env
    day = "2025-06-10"
    result = materialize("group:ingest", "--partition", day)
    assert result.returncode == 0, result.stderr[-3000:]
    instance = dg.DagsterInstance.get()
    assert materialized(instance, ["strava", "activities"]) == {day}
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    loaded = {r[0] for r in con.execute("select id from strava.activities").fetchall()}
    con.close()
    assert loaded == expected_activity_ids(emulator, day, day)

    result = materialize(INGEST_AND_DBT, "--partition-range", "2025-06-01...2025-06-14")
    assert result.returncode == 0, result.stderr[-3000:]
    runs = instance.get_runs()
    assert len(runs) == 2, "the range must be one run"
    days = {f"2025-06-{d:02d}" for d in range(1, 15)}
    assert materialized(instance, ["strava", "activities"]) == days
    # The mart is rebuilt whole, once for the run: not a partition per day.
    range_run = runs[0].run_id
    assert materialized_in_run(instance, range_run, "marts/fct_activities") == [None]
    assert sorted(materialized_in_run(instance, range_run, "strava/activities")) == sorted(days)
    first = warehouse_counts(data_dir)
    assert first["activities"] == len(expected_activity_ids(emulator, "2025-06-01", "2025-06-14"))
    assert first["fct_activities"] == first["activities"]
    assert first["activity_streams"] > 1000

    requests_before = emulator.usage()["total_requests"]
    result = materialize(INGEST_AND_DBT, "--partition-range", "2025-06-01...2025-06-14")
    assert result.returncode == 0, result.stderr[-3000:]
    assert warehouse_counts(data_dir) == first, "a re-run must not duplicate anything"
    # Nothing is fetched again: the activities are unchanged and the listing of this (old enough)
    # window was made minutes ago on the emulator's clock, so it is reused too.
    assert emulator.usage()["total_requests"] == requests_before


def test_two_runs_started_together_on_a_new_instance_both_load(strava_env, data_dir, dagster_home):
    assert not (dagster_home / "history").exists(), "a brand-new instance"
    days = ["2025-06-10", "2025-06-11"]
    runs = [
        subprocess.Popen(
            materialize_command("group:ingest", "--partition", day),
            cwd=REPO_ROOT,
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for day in days
    ]
    outputs = [run.communicate(timeout=600)[0] for run in runs]

    for run, output in zip(runs, outputs, strict=True):
        assert run.returncode == 0, output[-3000:]
    instance = dg.DagsterInstance.get()
    assert materialized(instance, ["strava", "activities"]) == set(days)
    assert len(instance.get_runs()) == 2


ATHLETE_TABLES = ("strava/athlete", "strava/athlete_zones", "strava/athlete_stats", "strava/gear")


def test_the_athletes_tables_belong_to_no_day(strava_env, data_dir, dagster_home):
    """Selected alone, without a partition, they load with their own requests only (no listing,
    no activity); in a range run they are loaded once, with no partition."""
    emulator = strava_env
    result = materialize(",".join(ATHLETE_TABLES))
    assert result.returncode == 0, result.stderr[-3000:]
    instance = dg.DagsterInstance.get()
    [run] = instance.get_runs()
    for key in ATHLETE_TABLES:
        assert materialized_in_run(instance, run.run_id, key) == [None], key
    counts = warehouse_counts(data_dir)
    assert counts["athlete"] == 1
    assert counts["gear"] > 0
    assert counts.get("activities", 0) == 0
    # GET /athlete, one GET /gear/{id} per item, /athlete/zones and /athletes/{id}/stats.
    assert emulator.usage()["total_requests"] == 3 + counts["gear"]

    result = materialize("group:ingest", "--partition-range", "2025-06-01...2025-06-03")
    assert result.returncode == 0, result.stderr[-3000:]
    range_run = instance.get_runs()[0].run_id
    assert materialized_in_run(instance, range_run, "strava/athlete") == [None]
    assert len(materialized_in_run(instance, range_run, "strava/activities")) == 3
