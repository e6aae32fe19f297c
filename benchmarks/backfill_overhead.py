"""What Dagster's bookkeeping costs a range run: the CLI's one run against the same work bare.

The emulator (seed 1, clock frozen at 2026-01-01, rate limits off, per-activity payloads
rendered once up front as in ``ingest.py``) serves the history. For each window:

- **dagster**: ``dagster asset materialize -m strava_datastack.definitions --select
  "group:ingest or group:transform" --partition-range A...B`` in a subprocess, as a user types
  it, with a temporary ``DAGSTER_HOME`` holding the project's ``dagster.yaml`` and a fresh data
  folder. Afterwards the instance's SQLite files are read: events per type in the run's event
  log, rows of the cross-run index, and when each phase began (run created, first step, last
  step done), taken from the events' own timestamps.
- **bare**: the same work without Dagster, in a subprocess on its own fresh data folder:
  ``load_window`` (the ingest assets' body) over the window, then ``dbt build`` with the same
  ``--vars`` the dbt asset passes.

overhead = dagster_s / bare_s (and the same of CPU seconds, steadier on a shared machine).
``--history-start`` moves the partitions' first day, as ``STRAVA_DATASTACK_HISTORY_START`` does.
The UI's queries on such an instance: ``ui_queries.py``.

Run: ``uv run python benchmarks/backfill_overhead.py`` (1 and 5 years; ``--years 1`` for the
quick half, ``--days 31`` for a one-month probe). The last line reads
``years=<n> dagster_s=<s> bare_s=<s> overhead=<x> events=<n>`` for the longest window.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.ingest import CLOCK, NO_LIMITS, _prerender, _serve_prerendered, log_in_once  # noqa: E402

LAST_DAY = date(2025, 12, 31)  # the last full day before the emulator's clock
SELECTION = "group:ingest or group:transform"
VENV_BIN = Path(sys.executable).parent


def window_of(years: int | None, days: int | None) -> tuple[date, date]:
    """First and last day (inclusive) of a window that ends on LAST_DAY."""
    if days:
        return LAST_DAY - timedelta(days=days - 1), LAST_DAY
    return date(LAST_DAY.year - years + 1, 1, 1), LAST_DAY


# Imports read cached bytecode, as on a user's machine, even where the environment forbids
# writing it next to the sources (PYTHONDONTWRITEBYTECODE): compiling dagster, dbt and dlt from
# source costs every process ~20 s, the same for both variants, and is not bookkeeping.
PYCACHE = Path(tempfile.gettempdir()) / "strava-datastack-bench-pycache"


def _env(base: dict[str, str], data_dir: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {
        **base,
        "STRAVA_DATASTACK_DATA_DIR": str(data_dir),
        "PATH": f"{VENV_BIN}{os.pathsep}{base.get('PATH', '')}",
        "PYTHONPYCACHEPREFIX": str(PYCACHE),
        **extra,
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _timed(args: list[str], env: dict[str, str], log_path: Path) -> tuple[int, float, float]:
    """Runs a command; returns its exit code, wall seconds and CPU seconds (its children too)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with log_path.open("w") as log:
        code = subprocess.run(args, cwd=REPO_ROOT, env=env, stdout=log, stderr=log).returncode
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return code, wall, cpu


# --- the Dagster run -------------------------------------------------------------------------


def run_dagster(
    first: date,
    last: date,
    env: dict[str, str],
    work: Path,
    extra_env: dict[str, str],
    profile: str | None = None,
) -> dict[str, Any]:
    home, data = work / "dagster_home", work / "data"
    home.mkdir()
    data.mkdir()
    shutil.copyfile(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    args = [str(VENV_BIN / "dagster"), "asset", "materialize", "-m", "strava_datastack.definitions"]
    if profile:
        args = [sys.executable, "-m", "cProfile", "-o", profile, *args]
    args += ["--select", SELECTION, "--partition-range", f"{first}...{last}"]
    run_env = _env(env, data, {"DAGSTER_HOME": str(home), **extra_env})
    started_at = time.time()
    code, wall, cpu = _timed(args, run_env, work / "dagster.log")
    if code != 0:
        sys.stderr.write((work / "dagster.log").read_text()[-6000:])
        raise SystemExit(f"dagster asset materialize failed (exit {code})")
    return {"wall_s": wall, "cpu_s": cpu, **instance_figures(home, started_at)}


def instance_figures(home: Path, started_at: float) -> dict[str, Any]:
    """Events the run wrote, index rows, and when each phase of the run began."""
    runs_dir = home / "history" / "runs"
    by_type: Counter[str] = Counter()
    stamps: dict[str, float] = {}
    for shard in sorted(runs_dir.glob("*.db")):
        if shard.name == "index.db":
            continue
        con = sqlite3.connect(shard)
        for event_type, count in con.execute(
            "select coalesce(dagster_event_type, 'LOG'), count(*) from event_logs group by 1"
        ):
            by_type[event_type] += count
        stamps.update(_phase_stamps(con))
        con.close()
    index = sqlite3.connect(runs_dir / "index.db")
    index_rows = {
        table: index.execute(f"select count(*) from {table}").fetchone()[0]
        for table in ("event_logs", "asset_event_tags", "asset_keys", "asset_check_executions")
    }
    index.close()
    phases = {name: ts - started_at for name, ts in stamps.items()}
    return {"events": sum(by_type.values()), "by_type": dict(by_type), "index": index_rows,
            "phases": phases}  # fmt: skip


def _phase_stamps(con: sqlite3.Connection) -> dict[str, float]:
    """Wall-clock times (epoch s) of the run's milestones, from the event records themselves."""

    def first(event_type: str, last: bool = False) -> float | None:
        order = "desc" if last else "asc"
        row = con.execute(
            "select event from event_logs where dagster_event_type = ? "
            f"order by id {order} limit 1",
            (event_type,),
        ).fetchone()
        return json.loads(row[0])["timestamp"] if row else None

    marks = {
        "planned_first": first("ASSET_MATERIALIZATION_PLANNED"),
        "planned_last": first("ASSET_MATERIALIZATION_PLANNED", last=True),
        "run_start": first("PIPELINE_START"),
        "step_start_first": first("STEP_START"),
        "materialization_first": first("ASSET_MATERIALIZATION"),
        "materialization_last": first("ASSET_MATERIALIZATION", last=True),
        "step_success_last": first("STEP_SUCCESS", last=True),
        "run_success": first("PIPELINE_SUCCESS"),
    }
    steps = con.execute(
        "select event from event_logs where dagster_event_type in ('STEP_START', 'STEP_SUCCESS')"
        " order by id"
    ).fetchall()
    for (raw,) in steps:
        event = json.loads(raw)
        kind = event["dagster_event"]["event_type_value"]
        marks[f"{kind.lower()}:{event['step_key']}"] = event["timestamp"]
    return {k: v for k, v in marks.items() if v is not None}


# --- the same work bare ----------------------------------------------------------------------


def run_bare(first: date, last: date, env: dict[str, str], work: Path) -> dict[str, Any]:
    data = work / "data"
    data.mkdir()
    out = work / "bare.json"
    args = [sys.executable, __file__, "--bare-child", "--first", str(first), "--last", str(last)]
    args += ["--work", str(work), "--out", str(out)]
    code, wall, cpu = _timed(args, _env(env, data, {}), work / "bare.log")
    if code != 0:
        sys.stderr.write((work / "bare.log").read_text()[-6000:])
        raise SystemExit(f"bare run failed (exit {code})")
    return {"wall_s": wall, "cpu_s": cpu, **json.loads(out.read_text())}


def bare_child(first: date, last: date, work: Path, out: Path) -> None:
    """`load_window` + `dbt build`, as the two multi-assets do them, without Dagster."""
    from benchmarks.dbt_incremental import dbt_build
    from strava_datastack import paths
    from strava_datastack.defs.ingest.config import IngestConfig
    from strava_datastack.defs.ingest.load import load_window

    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    began = time.perf_counter()
    load = load_window(start, end, IngestConfig(), log=print)
    loaded = time.perf_counter()
    dbt_vars = {"window_start": f"{start:%Y-%m-%d}", "window_end": f"{end:%Y-%m-%d}"}
    dbt_s = dbt_build(paths.warehouse_path(), work, dbt_vars)
    figures = {
        "ingest_s": loaded - began,
        "dbt_s": dbt_s,
        "activities": load.plan.activity_count,
        "requests": load.client.request_log.requests,
    }
    out.write_text(json.dumps(figures))


# --- main ------------------------------------------------------------------------------------


@contextmanager
def serving_emulator(earliest: date) -> Iterator[dict[str, str]]:
    """The emulator serving the history from `earliest`; yields the environment to run with."""
    from strava_datastack.emulator import StravaEmulator

    emu = StravaEmulator(seed=1, clock_start=CLOCK, read_limits=NO_LIMITS, overall_limits=NO_LIMITS)
    started = time.perf_counter()
    cache = _prerender(emu, datetime(earliest.year, earliest.month, earliest.day, tzinfo=UTC),
                       CLOCK)  # fmt: skip
    print(f"pre-rendered {len(cache):,} emulator responses in "
          f"{time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
    _serve_prerendered(emu, cache)
    emu.start()
    try:
        env = {**os.environ, **emu.env()}
        env["SOURCES__STRAVA__CREDENTIALS__REFRESH_TOKEN"] = log_in_once(emu)
        env.pop("STRAVA_DATASTACK_DATA_DIR", None)
        env.pop("DAGSTER_HOME", None)
        yield env
    finally:
        emu.stop()


def _print_run(label: str, dagster: dict[str, Any] | None, bare: dict[str, Any] | None) -> None:
    if dagster:
        phases = dagster["phases"]
        shown = ["planned_first", "planned_last", "run_start", "step_start_first",
                 "materialization_first", "materialization_last", "run_success"]  # fmt: skip
        print(
            f"{label} dagster: {dagster['wall_s']:.1f} s (CPU {dagster['cpu_s']:.1f} s), "
            f"{dagster['events']:,} events"
        )
        print("  phases (s after launch): " + ", ".join(
            f"{name}={phases[name]:.1f}" for name in shown if name in phases))  # fmt: skip
        steps = sorted(k for k in phases if k.startswith("step_"))
        for key in steps:
            if key.startswith("step_start:"):
                step = key.split(":", 1)[1]
                done = phases.get(f"step_success:{step}")
                took = f"{done - phases[key]:.1f} s" if done is not None else "?"
                print(f"  step {step}: {took}")
        top = sorted(dagster["by_type"].items(), key=lambda item: -item[1])
        print("  events: " + ", ".join(f"{t}={n:,}" for t, n in top))
        print("  index rows: " + ", ".join(f"{t}={n:,}" for t, n in dagster["index"].items()))
    if bare:
        print(
            f"{label} bare: {bare['wall_s']:.1f} s (CPU {bare['cpu_s']:.1f} s; ingest "
            f"{bare['ingest_s']:.1f} s, dbt {bare['dbt_s']:.1f} s; "
            f"{bare['activities']:,} activities, {bare['requests']:,} requests)"
        )
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--years", type=int, action="append", help="window length (default 1, 5)")
    parser.add_argument("--days", type=int, help="one window of N days instead of years")
    parser.add_argument("--window", metavar="FIRST...LAST", help="one window of these days")
    parser.add_argument("--no-bare", action="store_true", help="only the Dagster run")
    parser.add_argument("--no-dagster", action="store_true", help="only the bare run")
    parser.add_argument("--history-start", help="first partition day (YYYY-MM-DD)")
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE",
        help="extra environment for the Dagster run (e.g. DAGSTER_EVENT_BATCH_SIZE=1000)",
    )  # fmt: skip
    parser.add_argument("--profile", metavar="DIR", help="cProfile the Dagster run into DIR")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    parser.add_argument("--bare-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--first", help=argparse.SUPPRESS)
    parser.add_argument("--last", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_child:
        bare_child(date.fromisoformat(args.first), date.fromisoformat(args.last),
                   Path(args.work), Path(args.out))  # fmt: skip
        return

    if args.window:
        first, last = (date.fromisoformat(day) for day in args.window.split("..."))
        windows = [(f"{(last - first).days + 1}d", first, last)]
    elif args.days:
        windows = [(f"{args.days}d", *window_of(None, args.days))]
    else:
        windows = [(f"{y}y", *window_of(y, None)) for y in sorted(set(args.years or (1, 5)))]
    extra_env = dict(item.split("=", 1) for item in args.env)
    if args.history_start:
        extra_env["STRAVA_DATASTACK_HISTORY_START"] = args.history_start
    earliest = min(first for _, first, _ in windows)
    root = Path(tempfile.mkdtemp(prefix="backfill-overhead-"))
    results: dict[str, tuple[dict | None, dict | None]] = {}
    try:
        with serving_emulator(earliest) as env:
            for label, first, last in windows:
                dagster = bare = None
                if not args.no_dagster:
                    work = root / f"{label}-dagster"
                    work.mkdir()
                    profile = None
                    if args.profile:
                        Path(args.profile).mkdir(parents=True, exist_ok=True)
                        profile = str(Path(args.profile).resolve() / f"dagster_{label}.prof")
                    dagster = run_dagster(first, last, env, work, extra_env, profile)
                if not args.no_bare:
                    work = root / f"{label}-bare"
                    work.mkdir()
                    bare = run_bare(first, last, env, work)
                results[label] = (dagster, bare)
                _print_run(f"{label} ({first}...{last})", dagster, bare)
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)

    label = windows[-1][0]
    dagster, bare = results[label]
    years = label[:-1] if label.endswith("y") else f"{int(label[:-1]) / 365:.2f}"
    parts = [f"years={years}"]
    if dagster:
        parts.append(f"dagster_s={dagster['wall_s']:.1f}")
    if bare:
        parts.append(f"bare_s={bare['wall_s']:.1f}")
    if dagster and bare:
        parts.append(f"overhead={dagster['wall_s'] / bare['wall_s']:.2f}")
        parts.append(f"cpu_overhead={dagster['cpu_s'] / bare['cpu_s']:.2f}")
    if dagster:
        parts.append(f"events={dagster['events']}")
        parts.append(f"dagster_cpu_s={dagster['cpu_s']:.1f}")
    if bare:
        parts.append(f"bare_cpu_s={bare['cpu_s']:.1f} requests={bare['requests']}")
    print(" ".join(parts))


if __name__ == "__main__":
    main()
