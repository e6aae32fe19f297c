"""Dropping Strava's export ZIP into the import folder of a running `dagster-daemon`.

The user's whole gesture: the archive lands in the folder, the import sensor launches ONE run
over the days it covers, the run succeeds, and dropping the same archive again launches nothing.
"""

from __future__ import annotations

import os
import shutil
import time
from datetime import date

import dagster as dg
import duckdb

from strava_datastack.emulator.archive import write_archive
from strava_datastack_tests.conftest import REPO_ROOT
from strava_datastack_tests.dagster_processes import (
    running_dagster,
    sensor_ticks,
    stop_automation_sensors,
    stop_schedules,
    wait_for_run,
)

LOCATION = "strava_datastack"
SENSOR = "import_folder_sensor"
FIRST_DAY, LAST_DAY = date(2025, 6, 2), date(2025, 6, 8)


def wait_for_ticks(procs, count: int, timeout_s: float = 300) -> list[dict]:
    """Waits until the sensor has ticked `count` more times; returns all ticks, newest first."""
    before = len(sensor_ticks(procs.graphql, LOCATION, SENSOR))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        procs.check_alive()
        ticks = sensor_ticks(procs.graphql, LOCATION, SENSOR)
        if len(ticks) >= before + count:
            return ticks
        time.sleep(2)
    raise AssertionError(f"{SENSOR} did not tick {count} times in {timeout_s}s\n{procs.logs()}")


def test_an_archive_dropped_into_the_folder_is_imported_once(tmp_path, monkeypatch):
    home, data_dir, staging = tmp_path / "home", tmp_path / "data", tmp_path / "download"
    for folder in (home, data_dir / "import", staging):
        folder.mkdir(parents=True)
    shutil.copyfile(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    # The archive as downloaded, written outside the folder first, then moved in at once.
    archive = write_archive(staging, start=FIRST_DAY, end=LAST_DAY)
    env = {**os.environ, "DAGSTER_HOME": str(home), "STRAVA_DATASTACK_DATA_DIR": str(data_dir)}
    monkeypatch.setenv("DAGSTER_HOME", str(home))

    with running_dagster(env, REPO_ROOT, tmp_path / "logs") as procs:
        stop_automation_sensors(procs.graphql, LOCATION)  # no site build here (minutes)
        stop_schedules(procs.graphql, LOCATION)
        wait_for_ticks(procs, 1)  # an empty folder: nothing to do
        shutil.copyfile(archive.path, data_dir / "import" / archive.path.name)

        deadline = time.monotonic() + 300
        run_ids: list[str] = []
        while not run_ids and time.monotonic() < deadline:
            ticks = sensor_ticks(procs.graphql, LOCATION, SENSOR)
            run_ids = [run_id for tick in ticks for run_id in tick["runIds"]]
            time.sleep(2)
        assert len(run_ids) == 1, procs.logs()
        run = wait_for_run(procs, run_ids[0], timeout_s=900)
        assert run["status"] == "SUCCESS", procs.logs()
        tags = {tag["key"]: tag["value"] for tag in run["tags"]}
        days = sorted({a["start_date"][:10] for a in _activities(FIRST_DAY, LAST_DAY)})
        assert tags["dagster/asset_partition_range_start"] == days[0]
        assert tags["dagster/asset_partition_range_end"] == days[-1]

        # The same archive dropped again (a second download of the same export): nothing new.
        shutil.copyfile(archive.path, data_dir / "import" / archive.path.name)
        ticks = wait_for_ticks(procs, 2)
        assert [r for tick in ticks for r in tick["runIds"]] == run_ids

    with dg.DagsterInstance.get() as instance:
        imports = instance.get_runs(dg.RunsFilter(job_name="import_files"))
        assert [r.run_id for r in imports] == run_ids
        done = set(instance.get_materialized_partitions(dg.AssetKey(["files", "activities"])))
        assert set(days) <= done
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        activities = con.execute("select activity_id from marts.fct_activities").fetchall()
        loaded = {row[0] for row in activities}
    finally:
        con.close()
    assert loaded == {a["id"] for a in _activities(FIRST_DAY, LAST_DAY)}


def _activities(first: date, last: date) -> list[dict]:
    from strava_datastack.emulator.athlete import SyntheticAthlete

    return [
        a
        for a in SyntheticAthlete(1).activities
        if first.isoformat() <= a["start_date"][:10] <= last.isoformat()
    ]
