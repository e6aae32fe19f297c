"""The real `dagster-webserver` and `dagster-daemon` for end-to-end tests, and a GraphQL client.

Each process starts in its own process group (`start_new_session=True`) and the whole group is
killed on the way out, even when a test fails: the webserver and the daemon each spawn a gRPC code
server, and the daemon's code server spawns the run workers, so killing only the parent would
leave those behind (and `dagster dev` is known to ignore SIGTERM).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

VENV_BIN = Path(sys.executable).parent

# The daemons an asset backfill, a queued run and a schedule need; all are on by default.
NEEDED_DAEMONS = ("BACKFILL", "QUEUED_RUN_COORDINATOR", "SCHEDULER", "SENSOR")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class GraphQLError(AssertionError):
    """The webserver answered with GraphQL errors (or an HTTP error such as a PythonError 500)."""


@dataclass
class GraphQLClient:
    url: str
    timeout_s: float = 120

    def query(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        response = requests.post(
            self.url,
            json={"query": query, "variables": dict(variables or {})},
            timeout=self.timeout_s,
        )
        try:
            body = response.json()
        except ValueError:
            raise GraphQLError(f"HTTP {response.status_code}: {response.text[:2000]}") from None
        if response.status_code != 200 or body.get("errors"):
            raise GraphQLError(f"HTTP {response.status_code}: {body.get('errors') or body}")
        return body["data"]


def _kill_group(process: subprocess.Popen, grace_s: float = 10) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left of it."""
    try:
        pgid = os.getpgid(process.pid)
    except ProcessLookupError:
        pgid = process.pid  # the leader is gone; its group id is still its pid
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)  # anyone left in the group?
            except ProcessLookupError:
                break
            process.poll()
            time.sleep(0.2)
        else:
            continue
        break
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


@dataclass
class DagsterProcesses:
    """A running webserver and daemon sharing one DAGSTER_HOME."""

    port: int
    log_dir: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def graphql(self) -> GraphQLClient:
        return GraphQLClient(f"http://127.0.0.1:{self.port}/graphql")

    def log_tail(self, name: str, chars: int = 4000) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def logs(self) -> str:
        return "\n".join(f"--- {name} ---\n{self.log_tail(name)}" for name in self.processes)

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise AssertionError(
                    f"{name} exited with {process.returncode}:\n{self.log_tail(name)}"
                )

    def stop(self) -> None:
        for process in self.processes.values():
            _kill_group(process)


def _start(name: str, args: list[str], env: Mapping[str, str], cwd: Path, log_dir: Path):
    log = open(log_dir / f"{name}.log", "wb")  # noqa: SIM115 - the child keeps writing to it
    try:
        return subprocess.Popen(
            args,
            cwd=cwd,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    finally:
        log.close()


WORKSPACE_QUERY = """
{
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on PythonError { message stack }
        }
      }
    }
  }
}
"""

DAEMON_HEALTH_QUERY = """
{
  instance {
    daemonHealth {
      allDaemonStatuses { daemonType required healthy }
    }
  }
}
"""


def wait_until_ready(procs: DagsterProcesses, location: str, timeout_s: float = 300) -> None:
    """Waits until the webserver has loaded `location` and the daemon's daemons are healthy."""
    deadline = time.monotonic() + timeout_s
    last = "nothing yet"
    while time.monotonic() < deadline:
        procs.check_alive()
        try:
            data = procs.graphql.query(WORKSPACE_QUERY)
            entries = {e["name"]: e for e in data["workspaceOrError"].get("locationEntries", [])}
            entry = entries.get(location)
            if entry and entry["loadStatus"] == "LOADED":
                loaded = entry["locationOrLoadError"]
                if loaded["__typename"] == "PythonError":
                    raise AssertionError(f"code location failed to load: {loaded['message']}")
                health = procs.graphql.query(DAEMON_HEALTH_QUERY)
                statuses = health["instance"]["daemonHealth"]["allDaemonStatuses"]
                healthy = {s["daemonType"] for s in statuses if s["healthy"]}
                missing = [d for d in NEEDED_DAEMONS if d not in healthy]
                if not missing:
                    return
                last = f"daemons not healthy yet: {missing}"
            else:
                last = f"location entry: {entry}"
        except (requests.ConnectionError, requests.Timeout) as exc:
            last = f"webserver not answering: {exc.__class__.__name__}"
        time.sleep(1)
    raise AssertionError(f"dagster not ready after {timeout_s}s ({last}):\n{procs.logs()}")


def create_instance_storage(env: Mapping[str, str], cwd: Path) -> None:
    """Creates the SQLite storage of `$DAGSTER_HOME` before the processes share it.

    A webserver and a daemon started together on an empty DAGSTER_HOME both create and stamp the
    schema, and one of them (or its code server) then fails on "Version table 'alembic_version'
    has more than one head present".
    """
    subprocess.run(
        [sys.executable, "-c", "import dagster; dagster.DagsterInstance.get().dispose()"],
        cwd=cwd,
        env=dict(env),
        check=True,
        capture_output=True,
        timeout=120,
    )


@contextlib.contextmanager
def running_dagster(
    env: Mapping[str, str],
    cwd: Path,
    log_dir: Path,
    workspace: str = "workspace.yaml",
    location: str = "strava_datastack",
    ready_timeout_s: float = 300,
) -> Iterator[DagsterProcesses]:
    """`dagster-webserver` and `dagster-daemon run` on loopback, stopped on exit come what may."""
    log_dir.mkdir(parents=True, exist_ok=True)
    create_instance_storage(env, cwd)
    procs = DagsterProcesses(port=free_port(), log_dir=log_dir)
    try:
        procs.processes["webserver"] = _start(
            "webserver",
            [
                str(VENV_BIN / "dagster-webserver"),
                "-w",
                workspace,
                "-h",
                "127.0.0.1",
                "-p",
                str(procs.port),
            ],
            env,
            cwd,
            log_dir,
        )
        procs.processes["daemon"] = _start(
            "daemon", [str(VENV_BIN / "dagster-daemon"), "run", "-w", workspace], env, cwd, log_dir
        )
        wait_until_ready(procs, location, ready_timeout_s)
        yield procs
    finally:
        procs.stop()



@contextlib.contextmanager
def running_dg_dev(
    env: Mapping[str, str], cwd: Path, log_dir: Path, ready_timeout_s: float = 300
) -> Iterator[DagsterProcesses]:
    """`dg dev` (its webserver and daemon in one command) on loopback, as a developer starts it
    in the project folder; stopped on exit come what may."""
    log_dir.mkdir(parents=True, exist_ok=True)
    procs = DagsterProcesses(port=free_port(), log_dir=log_dir)
    try:
        procs.processes["dg-dev"] = _start(
            "dg-dev",
            [str(VENV_BIN / "dg"), "dev", "--host", "127.0.0.1", "--port", str(procs.port)],
            env,
            cwd,
            log_dir,
        )
        wait_until_ready(procs, "strava_datastack", ready_timeout_s)
        yield procs
    finally:
        procs.stop()

# --- GraphQL operations the UI uses --------------------------------------------------------

SENSORS = """
query Sensors($repo: RepositorySelector!) {
  sensorsOrError(repositorySelector: $repo) {
    __typename
    ... on Sensors { results { name sensorType sensorState { id status } } }
    ... on PythonError { message }
  }
}
"""

STOP_SENSOR = """
mutation Stop($id: String!) {
  stopSensor(id: $id) {
    __typename
    ... on StopSensorMutationResult { instigationState { status } }
    ... on PythonError { message }
  }
}
"""


def repository_selector(location: str, repository: str = "__repository__") -> dict[str, str]:
    return {"repositoryLocationName": location, "repositoryName": repository}


def sensors(client: GraphQLClient, location: str) -> dict[str, dict[str, Any]]:
    result = client.query(SENSORS, {"repo": repository_selector(location)})["sensorsOrError"]
    if result["__typename"] != "Sensors":
        raise GraphQLError(f"sensors of {location}: {result}")
    return {sensor["name"]: sensor for sensor in result["results"]}


SCHEDULES = """
query Schedules($repo: RepositorySelector!) {
  schedulesOrError(repositorySelector: $repo) {
    __typename
    ... on Schedules {
      results {
        name
        cronSchedule
        executionTimezone
        scheduleState { id status }
        futureTicks(limit: 1) { results { timestamp } }
      }
    }
    ... on PythonError { message }
  }
}
"""

STOP_SCHEDULE = """
mutation Stop($id: String!) {
  stopRunningSchedule(id: $id) {
    __typename
    ... on ScheduleStateResult { scheduleState { status } }
    ... on PythonError { message }
  }
}
"""


def stop_schedules(client: GraphQLClient, location: str) -> dict[str, dict[str, Any]]:
    """Stops every running schedule (as the UI's toggle does); returns them as they were.

    The daemon ticks schedules on the wall clock: a test running across 04:00 UTC would
    otherwise get an extra run of the daily refresh in the middle of its assertions.
    """
    result = client.query(SCHEDULES, {"repo": repository_selector(location)})["schedulesOrError"]
    if result["__typename"] != "Schedules":
        raise GraphQLError(f"schedules of {location}: {result}")
    for schedule in result["results"]:
        if schedule["scheduleState"]["status"] == "RUNNING":
            stopped = client.query(STOP_SCHEDULE, {"id": schedule["scheduleState"]["id"]})
            if stopped["stopRunningSchedule"]["__typename"] != "ScheduleStateResult":
                raise GraphQLError(f"could not stop {schedule['name']}: {stopped}")
    return {schedule["name"]: schedule for schedule in result["results"]}


def stop_automation_sensors(client: GraphQLClient, location: str) -> list[str]:
    """Stops running declarative-automation sensors (as the UI's toggle does); returns names.

    Tests that must not start an Evidence build (minutes) call it before launching anything.
    """
    stopped = []
    for name, sensor in sensors(client, location).items():
        if sensor["sensorType"] == "AUTOMATION" and sensor["sensorState"]["status"] == "RUNNING":
            result = client.query(STOP_SENSOR, {"id": sensor["sensorState"]["id"]})["stopSensor"]
            if result["__typename"] != "StopSensorMutationResult":
                raise GraphQLError(f"could not stop {name}: {result}")
            stopped.append(name)
    return stopped


START_SENSOR = """
mutation Start($selector: SensorSelector!) {
  startSensor(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { status } }
    ... on PythonError { message }
  }
}
"""

SENSOR_TICKS = """
query Ticks($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { ticks(limit: 50) { timestamp status runIds } } }
    ... on PythonError { message }
  }
}
"""


def sensor_selector(location: str, name: str) -> dict[str, str]:
    return {**repository_selector(location), "sensorName": name}


def start_sensor(client: GraphQLClient, location: str, name: str) -> None:
    """Starts a sensor as the UI's toggle does."""
    result = client.query(START_SENSOR, {"selector": sensor_selector(location, name)})
    if result["startSensor"]["__typename"] != "Sensor":
        raise GraphQLError(f"could not start {name}: {result}")


def sensor_ticks(client: GraphQLClient, location: str, name: str) -> list[dict[str, Any]]:
    """The sensor's ticks, newest first: ``{timestamp, status, runIds}``."""
    result = client.query(SENSOR_TICKS, {"selector": sensor_selector(location, name)})
    sensor = result["sensorOrError"]
    if sensor["__typename"] != "Sensor":
        raise GraphQLError(f"ticks of {name}: {sensor}")
    return sensor["sensorState"]["ticks"]


LAUNCH_BACKFILL = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on InvalidStepError { invalidStepKey }
    ... on InvalidOutputError { invalidOutputName }
    ... on UnauthorizedError { message }
    ... on PartitionSetNotFoundError { message }
  }
}
"""

BACKFILL_STATUS = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill {
      id
      status
      numPartitions
      partitionNames
      error { message stack }
      runs { id status tags { key value } }
    }
    ... on PythonError { message stack }
  }
}
"""

FINISHED_BACKFILL = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}


def asset_key_inputs(keys: list[list[str]] | list[str]) -> list[dict[str, list[str]]]:
    return [{"path": key.split("/") if isinstance(key, str) else list(key)} for key in keys]


def launch_asset_backfill(
    client: GraphQLClient, asset_keys: list[str], partition_names: list[str], title: str = ""
) -> str:
    """What the UI's "Materialize" → backfill dialog sends for a range of daily partitions."""
    params: dict[str, Any] = {
        "assetSelection": asset_key_inputs(asset_keys),
        "partitionNames": partition_names,
    }
    if title:
        params["title"] = title
    result = client.query(LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
    if result["__typename"] != "LaunchBackfillSuccess":
        raise GraphQLError(f"backfill not launched: {result}")
    return result["backfillId"]


def wait_for_backfill(
    procs: DagsterProcesses, backfill_id: str, timeout_s: float = 600
) -> dict[str, Any]:
    """Polls the backfill as the UI's backfill page does, until it reaches a final status."""
    deadline = time.monotonic() + timeout_s
    backfill: dict[str, Any] = {}
    while time.monotonic() < deadline:
        procs.check_alive()
        backfill = procs.graphql.query(BACKFILL_STATUS, {"id": backfill_id})[
            "partitionBackfillOrError"
        ]
        if backfill["__typename"] != "PartitionBackfill":
            raise GraphQLError(f"backfill {backfill_id}: {backfill}")
        if backfill["status"] in FINISHED_BACKFILL:
            return backfill
        time.sleep(2)
    raise AssertionError(
        f"backfill {backfill_id} unfinished after {timeout_s}s: {backfill}\n{procs.logs()}"
    )


RUN_STATUS = """
query Run($id: ID!) {
  runOrError(runId: $id) {
    __typename
    ... on Run { id status tags { key value } }
    ... on PythonError { message }
  }
}
"""

FINISHED_RUN = {"SUCCESS", "FAILURE", "CANCELED"}


def wait_for_run(procs: DagsterProcesses, run_id: str, timeout_s: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    run: dict[str, Any] = {}
    while time.monotonic() < deadline:
        procs.check_alive()
        run = procs.graphql.query(RUN_STATUS, {"id": run_id})["runOrError"]
        if run["__typename"] != "Run":
            raise GraphQLError(f"run {run_id}: {run}")
        if run["status"] in FINISHED_RUN:
            return run
        time.sleep(2)
    raise AssertionError(f"run {run_id} unfinished after {timeout_s}s: {run}\n{procs.logs()}")
