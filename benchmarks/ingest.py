"""Ingestion, ours against a seed-style dlt ``rest_api`` pipeline: 1 year and 5 years of history.

Both pipelines read the same endpoints of the local Strava emulator (rate limits off, clock
frozen at 2026-01-01): the activity list pages of the window, then per activity its detail and,
unless it is a manual entry, its streams (all 11 keys, ``key_by_type=true``). Each variant runs
in its own subprocess with its own fresh DuckDB file and dlt pipelines dir, so peak memory is that
process's ``ru_maxrss``.

- **ours**: ``load_window`` (``defs/ingest/load.py``), the body of ``strava_ingest`` without
  Dagster: ``build_client`` → ``read_warehouse_state`` → ``make_plan`` → ``strava_source`` →
  ``strava_pipeline().run`` into a fresh warehouse, default ``IngestConfig``, the athlete tables
  left out (the seed does not fetch them). Streams become one Arrow row per sample.
- **seed**: ``rest_api_source`` with a bearer token fetched once from the OAuth endpoint;
  ``activities`` (page/per_page=200, stops at the empty page), dependent ``activity_details`` and
  ``activity_streams`` (merge on the activity), dlt's defaults everywhere (insert_values files,
  nested lists of the detail as child tables) except that each stream's ``data`` stays a JSON
  array in one row per activity (``max_table_nesting=0`` on the streams), as the seed keeps them.
- **seed_nested** (only with ``--nested-days N``): the same with dlt's default nesting for the
  streams too, every ``data`` array a child table, one row per sample per stream. It is not run
  on years of data: on this machine 2 months of it took 4.5 minutes and 16 GB of memory.

By default the emulator's per-activity payloads (details and streams) are rendered once before
the runs (in 2 worker processes) and served from memory: generating a 1 Hz stream in the
emulator costs ~50 ms of Python per activity, the same for both variants and nothing like what
strava.com costs, so it would only dilute what is measured. ``--live-emulator`` turns that off.

Run: ``uv run python benchmarks/ingest.py`` (``--years 1`` for the quick half). The last line
reads ``ours_s=<s> seed_s=<s> speedup=<x> ours_mb=<mb> seed_mb=<mb>`` (5-year figures, or the
longest window run). Wall times move with whatever else the machine runs; the CPU time row is
steadier.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

CLOCK = datetime(2026, 1, 1, tzinfo=UTC)
RANGES = {
    1: (datetime(2025, 1, 1, tzinfo=UTC), CLOCK),
    5: (datetime(2021, 1, 1, tzinfo=UTC), CLOCK),
}
NO_LIMITS = (10**9, 10**9)
VARIANTS = ("ours", "seed", "seed_nested")


# --- instrumentation shared by both children ------------------------------------------------


class _Timer:
    def __init__(self) -> None:
        self.seconds = 0.0
        self.count = 0


HTTP = _Timer()  # requests.Session.send: request out, whole body in
JSON = _Timer()  # requests.Response.json: decoding the body


def _instrument_requests() -> None:
    """Times every HTTP exchange and JSON decode, whichever library issues them."""
    import requests

    send, decode = requests.Session.send, requests.models.Response.json

    def timed_send(self, request, **kwargs):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return send(self, request, **kwargs)
        finally:
            HTTP.seconds += time.perf_counter() - started
            HTTP.count += 1

    def timed_json(self, **kwargs):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return decode(self, **kwargs)
        finally:
            JSON.seconds += time.perf_counter() - started
            JSON.count += 1

    requests.Session.send = timed_send
    requests.models.Response.json = timed_json


def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class _RssSampler:
    """Samples this process's RSS every 50 ms, so each dlt step's own peak can be told apart."""

    def __init__(self) -> None:
        import threading

        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.samples.append((time.time(), _current_rss_mb()))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def peak_between(self, start: float, end: float) -> float:
        return max((rss for t, rss in self.samples if start <= t <= end), default=0.0)


SAMPLER: _RssSampler | None = None


def _step_seconds(pipeline: Any) -> dict[str, float]:
    steps = {}
    for step in pipeline.last_trace.steps:
        if step.step in ("extract", "normalize", "load"):
            steps[step.step] = (step.finished_at - step.started_at).total_seconds()
            if SAMPLER is not None:
                peak = SAMPLER.peak_between(
                    step.started_at.timestamp(), step.finished_at.timestamp()
                )
                steps[f"{step.step}_peak_mb"] = peak
    return steps


def _rows(pipeline: Any) -> dict[str, int]:
    counts = pipeline.last_trace.last_normalize_info.row_counts
    return {table: n for table, n in counts.items() if not table.startswith("_dlt")}


# --- the two variants (each runs in a child process) -----------------------------------------


def run_ours(start: datetime, end: datetime, workdir: Path) -> dict[str, Any]:
    """`load_window`, the body of the ingest assets without Dagster, on a fresh warehouse."""
    os.environ["STRAVA_DATASTACK_DATA_DIR"] = str(workdir)
    started = time.perf_counter()
    from strava_datastack import paths
    from strava_datastack.defs.ingest import load
    from strava_datastack.defs.ingest.config import IngestConfig
    from strava_datastack.strava.source import strava_source

    imported = time.perf_counter()
    rss_imported = _current_rss_mb()

    # Instrument, not change: time the plan (the list pages) and keep the pipeline for its trace.
    marks: dict[str, Any] = {}
    make_plan, strava_pipeline = load.make_plan, load.strava_pipeline

    def timed_make_plan(*args: Any, **kwargs: Any) -> Any:
        plan = make_plan(*args, **kwargs)
        marks.update(planned=time.perf_counter(), http=HTTP.seconds, json=JSON.seconds)
        return plan

    def kept_pipeline() -> Any:
        marks["pipeline"] = strava_pipeline()
        return marks["pipeline"]

    load.make_plan, load.strava_pipeline = timed_make_plan, kept_pipeline
    # No athlete, gear, zones or stats: the seed-style pipeline does not fetch them either.
    tables = set(strava_source(None, None).selected_resources) - load.ATHLETE_TABLES
    result = load.load_window(start, end, IngestConfig(), tables=tables, log=lambda _: None)
    finished = time.perf_counter()
    pipeline = marks["pipeline"]
    return {
        "import_s": imported - started,
        "rss_after_import_mb": rss_imported,
        "wall_s": finished - imported,
        "plan_s": marks["planned"] - imported,
        "http_plan_s": marks["http"],
        "json_plan_s": marks["json"],
        "steps": _step_seconds(pipeline),
        "rows": _rows(pipeline),
        "activities": result.plan.activity_count,
        "client_requests": result.client.request_log.requests,
        "db_mb": paths.warehouse_path().stat().st_size / 2**20,
    }


def seed_source(
    base_url: str, token: str, start: datetime, end: datetime, streams_nesting: int | None = 0
) -> Any:
    """What a seed project writes: one rest_api config, bearer auth, dlt's defaults elsewhere.

    The one addition is ``recorded_activities``, a pass-through of the list without manual
    entries, so the streams resource asks exactly what ours asks (a manual activity has no
    streams; Strava answers 404).
    """
    import dlt
    from dlt.sources.rest_api import RESTAPIConfig, rest_api_resources, rest_api_source

    from strava_datastack.strava.rows import STREAM_KEYS

    client = {"base_url": base_url, "auth": {"type": "bearer", "token": token}}
    (activities,) = rest_api_resources(
        {
            "client": client,
            "resources": [
                {
                    "name": "activities",
                    "primary_key": "id",
                    "write_disposition": "merge",
                    "endpoint": {
                        "path": "athlete/activities",
                        "params": {
                            "after": int(start.timestamp()),
                            "before": int(end.timestamp()),
                            "per_page": 200,
                        },
                        "data_selector": "$",
                        "paginator": {
                            "type": "page_number",
                            "base_page": 1,
                            "page_param": "page",
                            "total_path": None,
                            "stop_after_empty_page": True,
                        },
                    },
                }
            ],
        }
    )

    @dlt.transformer(data_from=activities, name="recorded_activities", selected=False)
    def recorded_activities(page: list[dict[str, Any]]) -> Any:
        yield [item for item in page if not item.get("manual")]

    config: RESTAPIConfig = {
        "client": client,
        "resources": [
            activities,
            recorded_activities,
            {
                "name": "activity_details",
                "primary_key": "id",
                "write_disposition": "merge",
                "endpoint": {
                    "path": "activities/{resources.activities.id}",
                    "data_selector": "$",
                    "paginator": "single_page",
                },
            },
            {
                "name": "activity_streams",
                "primary_key": "_recorded_activities_id",
                "write_disposition": "merge",
                "include_from_parent": ["id"],
                "max_table_nesting": streams_nesting,
                "endpoint": {
                    "path": "activities/{resources.recorded_activities.id}/streams",
                    "params": {"keys": ",".join(STREAM_KEYS), "key_by_type": "true"},
                    "data_selector": "$",
                    "paginator": "single_page",
                },
            },
        ],
    }
    return rest_api_source(config, name="strava_seed")


def run_seed(
    start: datetime, end: datetime, workdir: Path, streams_nesting: int | None = 0
) -> dict[str, Any]:
    started = time.perf_counter()
    import dlt
    import requests

    imported = time.perf_counter()
    rss_imported = _current_rss_mb()

    env = os.environ
    token = requests.post(
        env["SOURCES__STRAVA__CREDENTIALS__ACCESS_TOKEN_URL"],
        data={
            "client_id": env["SOURCES__STRAVA__CREDENTIALS__CLIENT_ID"],
            "client_secret": env["SOURCES__STRAVA__CREDENTIALS__CLIENT_SECRET"],
            "grant_type": "refresh_token",
            "refresh_token": env["SOURCES__STRAVA__CREDENTIALS__REFRESH_TOKEN"],
        },
        timeout=60,
    ).json()["access_token"]
    source = seed_source(env["SOURCES__STRAVA__BASE_URL"], token, start, end, streams_nesting)
    db = workdir / "seed.duckdb"
    pipeline = dlt.pipeline(
        pipeline_name="strava_seed",
        destination=dlt.destinations.duckdb(str(db)),
        dataset_name="strava",
        pipelines_dir=str(workdir / "dlt_pipelines"),
    )
    pipeline.run(source).raise_on_failed_jobs()
    finished = time.perf_counter()
    rows = _rows(pipeline)
    return {
        "import_s": imported - started,
        "rss_after_import_mb": rss_imported,
        "wall_s": finished - imported,
        "plan_s": 0.0,
        "http_plan_s": 0.0,
        "json_plan_s": 0.0,
        "steps": _step_seconds(pipeline),
        "rows": rows,
        "activities": rows.get("activities", 0),
        "db_mb": db.stat().st_size / 2**20,
    }


def child_main(args: argparse.Namespace) -> None:
    global SAMPLER
    _instrument_requests()
    SAMPLER = _RssSampler()
    start, end = datetime.fromisoformat(args.start), datetime.fromisoformat(args.end)
    workdir = Path(args.workdir)
    run = {
        "ours": run_ours,
        "seed": run_seed,
        "seed_nested": lambda start, end, workdir: run_seed(start, end, workdir, None),
    }[args.child]
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        result = profiler.runcall(run, start, end, workdir)
        profiler.dump_stats(args.profile)
    else:
        result = run(start, end, workdir)
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    result.update(
        cpu_s=usage.ru_utime + usage.ru_stime,
        http_s=HTTP.seconds,
        http_n=HTTP.count,
        json_s=JSON.seconds,
        peak_mb=_rss_mb(),
    )
    Path(args.out).write_text(json.dumps(result))


# --- the parent: emulator, runs, table --------------------------------------------------------


def _prerender(emu: Any, start: datetime, end: datetime) -> dict[tuple, Any]:
    """Renders every detail and streams response of the window once, in 2 worker processes."""
    import multiprocessing

    from strava_datastack.strava.rows import STREAM_KEYS

    lo, hi = start.timestamp(), end.timestamp()
    targets = []
    for summary in emu.athlete.visible(CLOCK):
        epoch = datetime.fromisoformat(summary["start_date"]).timestamp()
        if lo < epoch < hi:
            targets.append((f"/activities/{summary['id']}", ()))
            if not summary.get("manual"):
                query = (("key_by_type", "true"), ("keys", ",".join(STREAM_KEYS)))
                targets.append((f"/activities/{summary['id']}/streams", query))
    global _EMU
    _EMU = emu
    with multiprocessing.get_context("fork").Pool(2) as pool:
        rendered = pool.map(_render, targets, chunksize=8)
    return {
        ("GET", path, query): answer
        for (path, query), answer in zip(targets, rendered, strict=True)
    }


_EMU: Any = None


def _render(target: tuple[str, tuple]) -> tuple[int, bytes, dict[str, str]]:
    path, query = target
    response = _EMU._route("GET", path, dict(query), {}, b"")
    return response.status, response.payload(), dict(response.headers)


def _serve_prerendered(emu: Any, cache: dict[tuple, Any]) -> dict[str, int]:
    from strava_datastack.emulator.server import Response

    route, stats = emu._route, {"hits": 0, "misses": 0}

    def cached_route(method, path, query, headers, body):  # type: ignore[no-untyped-def]
        answer = cache.get((method, path, tuple(sorted(query.items()))))
        if answer is None:
            stats["misses"] += 1
            return route(method, path, query, headers, body)
        stats["hits"] += 1
        status, raw, response_headers = answer
        return Response(status, headers=dict(response_headers), raw=raw)

    emu._route = cached_route
    return stats


def _run_child(
    variant: str,
    label: str,
    window: tuple[datetime, datetime],
    env: dict[str, str],
    profile: str | None,
    max_rss_mb: float,
) -> dict:
    """Runs one variant in a fresh process; kills it if it outgrows `max_rss_mb`.

    The machine is shared: a run that swallows all memory takes other people's processes down
    with it (the kernel's OOM killer picks the biggest, not the guilty).
    """
    workdir = Path(tempfile.mkdtemp(prefix=f"ingest-bench-{variant}-{label}-"))
    out = workdir / "result.json"
    args = [sys.executable, __file__, "--child", variant]
    args += ["--start", window[0].isoformat(), "--end", window[1].isoformat()]
    args += ["--workdir", str(workdir), "--out", str(out)]
    if profile:
        args += ["--profile", profile]
    log = (workdir / "child.log").open("w+")
    started = time.perf_counter()
    proc = subprocess.Popen(args, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    watched_peak, killed = 0.0, False
    try:
        while proc.poll() is None:
            rss = _rss_of(proc.pid)
            watched_peak = max(watched_peak, rss)
            if rss > max_rss_mb:
                proc.kill()
                killed = True
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
        if killed:
            return {"failed": f"killed >{max_rss_mb / 1024:,.0f} GB", "process_s": elapsed}
        if proc.returncode != 0:
            log.seek(0)
            sys.stderr.write(log.read()[-6000:])
            raise SystemExit(f"{variant} {label} failed (exit {proc.returncode})")
        result = json.loads(out.read_text())
    finally:
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)
    result["process_s"] = elapsed
    result["watched_peak_mb"] = watched_peak
    return result


def _rss_of(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _print_table(results: dict[tuple[str, str], dict]) -> None:
    columns = list(results)

    def step(name: str):
        return lambda r: r["steps"].get(name, 0.0)

    metrics = [
        ("activities in window", lambda r: r["activities"]),
        ("requests (emulator count)", lambda r: r["requests"]),
        ("wall time, ingest (s)", lambda r: r["wall_s"]),
        ("  list + plan (s)", lambda r: r["plan_s"]),
        ("  dlt extract (s)", step("extract")),
        ("  dlt normalize (s)", step("normalize")),
        ("  dlt load (s)", step("load")),
        ("  HTTP, all requests (s)", lambda r: r["http_s"]),
        ("  JSON decode (s)", lambda r: r["json_s"]),
        ("  extract minus HTTP+JSON (s)", lambda r: r["extract_cpu_s"]),
        ("CPU time of the process (s)", lambda r: r["cpu_s"]),
        ("imports (s)", lambda r: r["import_s"]),
        ("process wall incl. start (s)", lambda r: r["process_s"]),
        ("peak RSS (MB)", lambda r: r["peak_mb"]),
        ("RSS after imports (MB)", lambda r: r["rss_after_import_mb"]),
        ("peak RSS minus imports (MB)", lambda r: r["peak_mb"] - r["rss_after_import_mb"]),
        ("  peak RSS in extract (MB)", step("extract_peak_mb")),
        ("  peak RSS in normalize (MB)", step("normalize_peak_mb")),
        ("  peak RSS in load (MB)", step("load_peak_mb")),
        ("rows loaded", lambda r: sum(r["rows"].values())),
        ("tables loaded", lambda r: len(r["rows"])),
        ("DuckDB file (MB)", lambda r: r["db_mb"]),
    ]

    def cell(result: dict, fn: Any) -> str:
        if "failed" in result:
            return result["failed"] if fn is metrics[2][1] else "-"
        return _fmt(fn(result))

    header = ["metric"] + [f"{label} {variant}" for label, variant in columns]
    lines = [[name] + [cell(results[key], fn) for key in columns] for name, fn in metrics]
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *lines]:
        print(
            "  ".join(
                text.ljust(widths[i]) if i == 0 else text.rjust(widths[i])
                for i, text in enumerate(row)
            )
        )
    for label, variant in columns:
        rows = results[(label, variant)].get("rows")
        if rows:
            top = sorted(rows.items(), key=lambda item: -item[1])[:5]
            print(f"{label} {variant} rows: " + ", ".join(f"{t}={n:,}" for t, n in top))


def log_in_once(emu: Any) -> str:
    """The first refresh rotates the demo token; while the (frozen-clock) access token lives,
    refreshing with the new refresh token returns the same pair, so every process can log in."""
    import requests

    grant = requests.post(
        emu.token_url,
        data={
            "client_id": emu.client_id,
            "client_secret": emu.client_secret,
            "grant_type": "refresh_token",
            "refresh_token": emu.initial_refresh_token,
        },
        timeout=60,
    ).json()
    return grant["refresh_token"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--years", type=int, choices=(1, 5), action="append", help="1 and/or 5 (default both)"
    )
    parser.add_argument(
        "--variant", choices=VARIANTS[:2], action="append", help="ours and/or seed (default both)"
    )
    parser.add_argument(
        "--nested-days",
        type=int,
        default=0,
        metavar="N",
        help="also run ours, seed and seed_nested on the first N days of 2025",
    )
    parser.add_argument(
        "--live-emulator",
        action="store_true",
        help="let the emulator generate every payload on request",
    )
    parser.add_argument("--profile", metavar="DIR", help="write a cProfile file per run into DIR")
    parser.add_argument(
        "--max-rss-gb",
        type=float,
        default=8.0,
        help="kill a run whose memory passes this (default 8)",
    )
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--start", help=argparse.SUPPRESS)
    parser.add_argument("--end", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args)
        return


    from strava_datastack.emulator import StravaEmulator

    variants = args.variant or list(VARIANTS[:2])
    plan: list[tuple[str, tuple[datetime, datetime], list[str]]] = []
    if args.nested_days:
        first = RANGES[1][0]
        window = (first, first + timedelta(days=args.nested_days))
        plan.append((f"{args.nested_days}d", window, [*variants, "seed_nested"]))
    for years in sorted(set(args.years or (1, 5))):
        plan.append((f"{years}y", RANGES[years], variants))

    emu = StravaEmulator(seed=1, clock_start=CLOCK, read_limits=NO_LIMITS, overall_limits=NO_LIMITS)
    cache_stats = None
    if not args.live_emulator:
        started = time.perf_counter()
        cache = _prerender(emu, min(window[0] for _, window, _ in plan), CLOCK)
        size = sum(len(raw) for _, raw, _ in cache.values()) / 2**20
        print(
            f"pre-rendered {len(cache):,} emulator responses ({size:,.0f} MB) "
            f"in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        cache_stats = _serve_prerendered(emu, cache)
    emu.start()
    results: dict[tuple[str, str], dict] = {}
    try:
        env = {**os.environ, **emu.env()}
        # Log in once here, so both children can log in and neither pays for a rotation.
        env["SOURCES__STRAVA__CREDENTIALS__REFRESH_TOKEN"] = log_in_once(emu)
        env.pop("STRAVA_DATASTACK_DATA_DIR", None)

        for label, window, window_variants in plan:
            for variant in window_variants:
                profile = None
                if args.profile:
                    Path(args.profile).mkdir(parents=True, exist_ok=True)
                    profile = str(Path(args.profile).resolve() / f"{variant}_{label}.prof")
                before = emu.usage()["total_requests"]
                result = _run_child(variant, label, window, env, profile, args.max_rss_gb * 1024)
                result["requests"] = emu.usage()["total_requests"] - before
                results[(label, variant)] = result
                if "failed" in result:
                    print(f"{label} {variant}: {result['failed']}", flush=True)
                    continue
                result["extract_cpu_s"] = (
                    result["steps"].get("extract", 0.0)
                    - (result["http_s"] - result["http_plan_s"])
                    - (result["json_s"] - result["json_plan_s"])
                )
                print(
                    f"{label} {variant}: {result['wall_s']:.1f} s, {result['peak_mb']:.0f} MB, "
                    f"{result['requests']} requests",
                    flush=True,
                )
    finally:
        emu.stop()

    print()
    mode = "live emulator" if args.live_emulator else "pre-rendered emulator payloads"
    print(f"Ingest benchmark ({mode}; clock {CLOCK:%Y-%m-%d}, rate limits off)")
    _print_table(results)
    if cache_stats is not None:
        print(f"emulator cache: {cache_stats['hits']:,} hits, {cache_stats['misses']:,} misses")
    label = plan[-1][0]
    ours, seed = results.get((label, "ours")), results.get((label, "seed"))
    if ours and seed and "failed" not in ours and "failed" not in seed:
        print(
            f"ours_s={ours['wall_s']:.1f} seed_s={seed['wall_s']:.1f} "
            f"speedup={seed['wall_s'] / ours['wall_s']:.2f} "
            f"ours_mb={ours['peak_mb']:.0f} seed_mb={seed['peak_mb']:.0f}"
        )


if __name__ == "__main__":
    main()
