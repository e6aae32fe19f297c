"""How fast the UI's asset and partition pages answer, with every day since 2009 a partition.

The history start defaults to 2009-01-01 (Strava's first year), so an asset has ~6,500 daily
partitions. This benchmark materializes the last few years of the emulator's history through the
real CLI (``backfill_overhead.run_dagster``: one range run of the ingest and transform groups, a
temporary ``DAGSTER_HOME`` with the project's dagster.yaml), starts ``dagster-webserver`` on that
instance and times the GraphQL queries the UI issues when the asset graph, an asset's page and
one of its partitions are open, each asked twice (cold, then warm).

Run: ``uv run python benchmarks/ui_queries.py`` (3 years materialized; ``--years N``). The last
line reads ``partitions=<n> years=<n> webserver_start_s=<s> max_cold_s=<s> max_warm_s=<s>``.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.backfill_overhead import (  # noqa: E402
    VENV_BIN,
    _env,
    run_dagster,
    serving_emulator,
    window_of,
)

# The expensive parts of what the UI asks when the asset graph, an asset's page and one of its
# partitions are open (queries of dagster-webserver's ui-core, fragments cut to the fields that
# read the event log: partition statuses, latest runs, event history).
UI_QUERIES = {
    "AssetGraphLiveQuery": """
        query ($assetKeys: [AssetKeyInput!]!) {
          assetNodes(assetKeys: $assetKeys, loadMaterializations: true) {
            id
            partitionStats { numMaterialized numMaterializing numPartitions numFailed }
          }
          assetsLatestInfo(assetKeys: $assetKeys) {
            id inProgressRunIds unstartedRunIds latestRun { id status }
          }
        }""",
    "AssetHealthQuery": """
        query ($assetKeys: [AssetKeyInput!]!) {
          assetsOrError(assetKeys: $assetKeys) {
            ... on AssetConnection {
              nodes { id latestMaterializationTimestamp
                      assetHealth { assetHealth materializationStatus assetChecksStatus } }
            }
          }
        }""",
    "PartitionHealthQuery": """
        query ($assetKey: AssetKeyInput!) {
          assetNodeOrError(assetKey: $assetKey) {
            ... on AssetNode {
              id
              partitionKeysByDimension { name type partitionKeys }
              assetPartitionStatuses {
                ... on TimePartitionStatuses { ranges { status startKey endKey } }
              }
            }
          }
        }""",
    "LatestAssetPartitionsQuery": """
        query ($assetKey: AssetKeyInput!) {
          assetNodeOrError(assetKey: $assetKey) {
            ... on AssetNode { id partitionKeyConnection(limit: 50, ascending: false) { results } }
          }
        }""",
    "RecentAssetEventsQuery": """
        query ($assetKey: AssetKeyInput!) {
          assetOrError(assetKey: $assetKey) {
            ... on Asset {
              id
              assetEventHistory(limit: 100, eventTypeSelectors: [MATERIALIZATION]) {
                results { ... on MaterializationEvent { runId partition timestamp } }
              }
            }
          }
        }""",
    "AssetPartitionDetailQuery": """
        query ($assetKey: AssetKeyInput!, $partitionKey: String!) {
          assetOrError(assetKey: $assetKey) {
            ... on Asset {
              id
              definition { id latestRunForPartition(partition: $partitionKey) { id status } }
              assetEventHistory(partitions: [$partitionKey], limit: 1000,
                                eventTypeSelectors: [MATERIALIZATION, FAILED_TO_MATERIALIZE]) {
                results { ... on MaterializationEvent { runId partition } }
              }
            }
          }
        }""",
}
# The assets whose pages are opened: the raw table every model reads, and the largest windowed
# (daily-partitioned) model; the other marts have no partition pages.
UI_ASSETS = (["strava", "activities"], ["marts", "fct_activity_stream_samples"])


def measure_ui(home: Path, env: dict[str, str], partition: str) -> dict[str, float]:
    """Starts dagster-webserver on the instance; seconds per query, cold and warm."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = [str(VENV_BIN / "dagster-webserver"), "-m", "strava_datastack.definitions"]
    args += ["-h", "127.0.0.1", "-p", str(port)]
    log = (home / "webserver.log").open("w")
    server = subprocess.Popen(args, cwd=REPO_ROOT, env={**env, "DAGSTER_HOME": str(home)},
                              stdout=log, stderr=log, start_new_session=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def ask(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables}).encode()
        request = urllib.request.Request(
            f"{url}/graphql", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=600) as answer:
            result = json.loads(answer.read())
        if result.get("errors"):
            raise SystemExit(f"GraphQL error: {result['errors'][:1]}")
        return result["data"]

    timings: dict[str, float] = {}
    try:
        started = time.perf_counter()
        while True:
            try:
                urllib.request.urlopen(f"{url}/server_info", timeout=5).read()
                break
            except OSError:
                if server.poll() is not None or time.perf_counter() - started > 600:
                    raise SystemExit("dagster-webserver did not start; see webserver.log") from None
                time.sleep(1)
        timings["webserver_start"] = time.perf_counter() - started
        keys = [{"path": node["assetKey"]["path"]} for node in
                ask("{ assetNodes { assetKey { path } } }", {})["assetNodes"]]  # fmt: skip

        def timed(label: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
            for attempt in ("cold", "warm"):
                began = time.perf_counter()
                data = ask(query, variables)
                timings[f"{label} {attempt}"] = time.perf_counter() - began
            return data

        for name in ("AssetGraphLiveQuery", "AssetHealthQuery"):
            timed(name, UI_QUERIES[name], {"assetKeys": keys})
        for path in UI_ASSETS:
            for name in ("PartitionHealthQuery", "LatestAssetPartitionsQuery",
                         "RecentAssetEventsQuery", "AssetPartitionDetailQuery"):  # fmt: skip
                variables = {"assetKey": {"path": path}, "partitionKey": partition}
                if "partitionKey" not in UI_QUERIES[name]:
                    del variables["partitionKey"]
                data = timed(f"{name}:{'/'.join(path)}", UI_QUERIES[name], variables)
                if name == "PartitionHealthQuery":
                    dimensions = data["assetNodeOrError"]["partitionKeysByDimension"]
                    timings["partitions"] = len(dimensions[0]["partitionKeys"])
    finally:
        os.killpg(server.pid, 9)
        server.wait()
        log.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--years", type=int, default=3, help="years materialized (default 3)")
    parser.add_argument("--history-start", help="first partition day (default: the project's)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--instance", metavar="DIR",
        help="measure an existing run instead: a `<window>-dagster` folder that "
        "`backfill_overhead.py --keep` left (its dagster_home and data)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.instance:
        work = Path(args.instance)
        timings = measure_ui(work / "dagster_home", _env(dict(os.environ), work / "data", {}),
                             str(window_of(1, None)[1]))  # fmt: skip
        _report(timings, args.years)
        return
    extra_env = {}
    if args.history_start:
        extra_env["STRAVA_DATASTACK_HISTORY_START"] = args.history_start
    first, last = window_of(args.years, None)
    root = Path(tempfile.mkdtemp(prefix="ui-queries-"))
    try:
        with serving_emulator(first) as env:
            work = root / "dagster"
            work.mkdir()
            run = run_dagster(first, last, env, work, extra_env)
        print(f"materialized {first}...{last}: {run['wall_s']:.0f} s, {run['events']:,} events")
        timings = measure_ui(work / "dagster_home", _env(env, work / "data", extra_env), str(last))
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    _report(timings, args.years)


def _report(timings: dict[str, float], years: int) -> None:
    partitions = timings.pop("partitions")
    for query, seconds in timings.items():
        print(f"{query}: {seconds:.2f} s")
    start = timings.pop("webserver_start")
    cold = max(v for k, v in timings.items() if k.endswith(" cold"))
    warm = max(v for k, v in timings.items() if k.endswith(" warm"))
    print(f"partitions={partitions:.0f} years={years} webserver_start_s={start:.1f} "
          f"max_cold_s={cold:.2f} max_warm_s={warm:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
