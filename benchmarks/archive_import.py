"""The export archive import, ours against the way peers read activity files: 5 years of history.

The input is the emulator's export archive of its athlete (seed 1), as Strava's download: one ZIP
with ``activities.csv`` and the original file of every recorded activity (FIT, mostly gzipped;
GPX from the phone app; a few TCX). It is written once and cached under
``$TMPDIR/strava-datastack-bench/`` keyed by seed and range, because writing ~6.6 million 1 Hz
records takes minutes and is not what is measured.

Each variant runs in its own subprocess; the parent polls ``/proc`` for the RSS of that process
and all its descendants (ours parses in a process pool, whose workers count too), and each child
reports its own ``ru_maxrss``.

- **ours**: ``load_files_window`` (``files/load.py``, the files assets' body without Dagster) over
  the whole range into a fresh data dir: scan and index the import folder, parse the ZIP's files
  over the machine's cores (``parse_many``), derive laps, splits and best efforts, and load every
  table with dlt into DuckDB (schema ``files``).
- **dagster**: the same import as a Dagster run, as a user or the import sensor has it done:
  ``dagster asset materialize --select group:files --partition-range`` over the archive's days
  in a fresh instance with the project's dagster.yaml (one run; the per-partition bookkeeping
  included, the dbt models not, as in ours). Reported as a ratio to ours (target <= 1.5).
- **baseline**: what a peer project's import script does, in ONE process: for each file of the
  ZIP, fitdecode (FIT), gpxpy (GPX) or ElementTree (TCX) decode it, one Python dict per sample,
  ``pandas.DataFrame`` per file, ``pandas.concat`` of all of them, ``activities.csv`` with
  ``pandas.read_csv``, then ``con.register`` + ``CREATE TABLE ... AS`` into a DuckDB file. No
  laps, splits or best efforts: it does less than ours.

Run: ``uv run python benchmarks/archive_import.py`` (``--years N`` imports only the last N years
of the same five-year archive; ``--only ours --only dagster`` runs those variants). The last
line reads ``activities=<n> samples=<m> ours_s=<s> baseline_s=<s> speedup=<x> ours_mb=<mb>
baseline_mb=<mb> dagster_s=<s> dagster_ratio=<x>``. Wall times move with whatever else the
machine runs.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

SEED = 1
LAST_DAY = date(2025, 12, 31)
CACHE_ROOT = Path(tempfile.gettempdir()) / "strava-datastack-bench"


def archive_for(years: int, seed: int = SEED) -> Path:
    """The cached export ZIP of the last `years` years up to LAST_DAY, written if missing."""
    start = date(LAST_DAY.year - years + 1, 1, 1)
    folder = CACHE_ROOT / f"archive-seed{seed}-{start}-{LAST_DAY}"
    zips = sorted(folder.glob("export_*.zip"))
    if zips:
        return zips[0]
    from strava_datastack.emulator.archive import write_archive

    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    print(f"Writing the emulator's archive {start} .. {LAST_DAY} (seed {seed}) once ...")
    started = time.perf_counter()
    summary = write_archive(partial, start=start, end=LAST_DAY, seed=seed)
    print(f"  {summary.activities} activities, {summary.files}, {summary.bytes / 1e6:.0f} MB, "
          f"{time.perf_counter() - started:.0f} s")
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)  # only a complete archive is ever found in the cache
    return next(folder.glob("export_*.zip"))


def warehouse_counts(data_dir: Path) -> dict[str, int]:
    """The import's activities, files and samples as the warehouse holds them, not as the
    loader says it wrote them."""
    import duckdb

    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return {
            "activities": con.execute("select count(*) from files.activities").fetchone()[0],
            "files": con.execute(
                "select count(*) from files.activities where file_key is not null"
            ).fetchone()[0],
            "samples": con.execute("select count(*) from files.activity_streams").fetchone()[0],
        }


# --- ours ----------------------------------------------------------------------------------


def run_ours(archive: Path, start: datetime, end: datetime, workdir: Path) -> dict[str, Any]:
    data_dir = workdir / "data"
    import_dir = data_dir / "import"
    import_dir.mkdir(parents=True)
    os.symlink(archive, import_dir / archive.name)
    os.environ["STRAVA_DATASTACK_DATA_DIR"] = str(data_dir)
    os.environ.pop("STRAVA_DATASTACK_IMPORT_DIR", None)
    from strava_datastack.files.load import files_pipeline, load_files_window

    started = time.perf_counter()
    load = load_files_window(start, end, log=lambda _: None)
    seconds = time.perf_counter() - started
    trace = files_pipeline().last_trace
    steps = {step.step: (step.finished_at - step.started_at).total_seconds()
             for step in trace.steps if step.finished_at and step.started_at}
    return {
        "seconds": seconds,
        "steps": steps,
        **warehouse_counts(data_dir),
        "problems": len(load.problems),
        "rows": load.row_counts,
    }


# --- ours, as a Dagster run ------------------------------------------------------------------


def run_dagster(archive: Path, start: datetime, end: datetime, workdir: Path) -> dict[str, Any]:
    """The same import as a user (or the import sensor's run) has Dagster do it: the `files`
    group over the archive's days in one range run, through the real CLI, in a fresh instance
    with the project's dagster.yaml. Dagster's per-partition bookkeeping is included; the dbt
    models are not (they are not part of the bare import either)."""
    data_dir, home = workdir / "data", workdir / "dagster_home"
    (data_dir / "import").mkdir(parents=True)
    home.mkdir()
    os.symlink(archive, data_dir / "import" / archive.name)
    shutil.copyfile(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if k != "STRAVA_DATASTACK_IMPORT_DIR"}
    env |= {"STRAVA_DATASTACK_DATA_DIR": str(data_dir), "DAGSTER_HOME": str(home)}
    last = (end - timedelta(days=1)).strftime("%Y-%m-%d")
    command = [
        str(Path(sys.executable).parent / "dagster"), "asset", "materialize",
        "-m", "strava_datastack.definitions", "--select", "group:files",
        "--partition-range", f"{start:%Y-%m-%d}...{last}",
    ]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"dagster asset materialize failed:\n{done.stderr[-4000:]}")
    counts = warehouse_counts(data_dir)
    # What the run wrote into the instance, read back after it as the UI would.
    os.environ["DAGSTER_HOME"] = str(home)
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs()
        events = len(instance.all_logs(run.run_id))
    return {
        "seconds": seconds,
        "steps": {"events": events},
        **counts,
    }


# --- the baseline ----------------------------------------------------------------------------

_FIT_FIELDS = {  # record field -> column; the first of a pair that the file has wins
    "timestamp": ("timestamp",),
    "lat": ("position_lat",),
    "lng": ("position_long",),
    "distance": ("distance",),
    "altitude": ("enhanced_altitude", "altitude"),
    "speed": ("enhanced_speed", "speed"),
    "heartrate": ("heart_rate",),
    "cadence": ("cadence",),
    "watts": ("power",),
    "temp": ("temperature",),
}
_SEMICIRCLE = 180 / 2**31


def _fit_rows(data: bytes) -> list[dict[str, Any]]:
    import fitdecode

    rows = []
    with fitdecode.FitReader(io.BytesIO(data)) as fit:
        for frame in fit:
            if not isinstance(frame, fitdecode.FitDataMessage) or frame.name != "record":
                continue
            row = {}
            for column, names in _FIT_FIELDS.items():
                value = None
                for name in names:
                    if frame.has_field(name):
                        value = frame.get_value(name)
                        if value is not None:
                            break
                row[column] = value
            if row["timestamp"] is None:
                continue
            for column in ("lat", "lng"):
                if row[column] is not None:
                    row[column] = row[column] * _SEMICIRCLE
            rows.append(row)
    return rows


def _gpx_rows(data: bytes) -> list[dict[str, Any]]:
    import gpxpy

    gpx = gpxpy.parse(data.decode("utf-8"))
    rows = []
    for track in gpx.tracks:
        for segment in track.segments:
            for point in segment.points:
                if point.time is None:
                    continue
                # gpxpy's own tzinfo breaks pandas.concat beside other files' UTC times.
                when = point.time.astimezone(UTC)
                row = {"timestamp": when, "lat": point.latitude, "lng": point.longitude,
                       "altitude": point.elevation, "heartrate": None, "cadence": None,
                       "temp": None}
                for extension in point.extensions:  # gpxtpx:TrackPointExtension
                    for child in extension:
                        tag = child.tag.rsplit("}", 1)[-1]
                        column = {"hr": "heartrate", "cad": "cadence", "atemp": "temp"}.get(tag)
                        if column:
                            row[column] = float(child.text)
                rows.append(row)
    return rows


def _tcx_rows(data: bytes) -> list[dict[str, Any]]:
    from xml.etree import ElementTree

    root = ElementTree.fromstring(data.strip())
    rows = []
    for point in root.iterfind(".//{*}Trackpoint"):
        def text(path: str, point=point) -> str | None:
            found = point.find(path)
            return None if found is None else found.text

        when = text("{*}Time")
        if when is None:
            continue
        lat, lng = text("{*}Position/{*}LatitudeDegrees"), text("{*}Position/{*}LongitudeDegrees")
        rows.append({
            "timestamp": datetime.fromisoformat(when.replace("Z", "+00:00")),
            "lat": None if lat is None else float(lat),
            "lng": None if lng is None else float(lng),
            "altitude": _float(text("{*}AltitudeMeters")),
            "distance": _float(text("{*}DistanceMeters")),
            "heartrate": _float(text("{*}HeartRateBpm/{*}Value")),
            "cadence": _float(text("{*}Cadence")),
            "speed": _float(text(".//{*}TPX/{*}Speed")),
            "watts": _float(text(".//{*}TPX/{*}Watts")),
        })
    return rows


def _float(text: str | None) -> float | None:
    return None if text is None else float(text)


def run_baseline(archive: Path, start: datetime, end: datetime, workdir: Path) -> dict[str, Any]:
    import duckdb
    import pandas as pd

    started = time.perf_counter()
    frames = []
    with zipfile.ZipFile(archive) as zipped:
        csv = pd.read_csv(io.BytesIO(zipped.read("activities.csv")))
        csv["Activity Date"] = pd.to_datetime(csv["Activity Date"], format="mixed", utc=True)
        csv = csv[(csv["Activity Date"] >= start) & (csv["Activity Date"] < end)]
        for activity_id, filename in zip(csv["Activity ID"], csv["Filename"], strict=True):
            if not isinstance(filename, str) or not filename:
                continue  # a manual entry
            data = zipped.read(filename)
            if filename.endswith(".gz"):
                data = gzip.decompress(data)
            name = filename.removesuffix(".gz")
            parse = _fit_rows if name.endswith(".fit") else (
                _gpx_rows if name.endswith(".gpx") else _tcx_rows)
            frame = pd.DataFrame(parse(data))
            frame.insert(0, "activity_id", int(activity_id))
            frames.append(frame)
    samples = pd.concat(frames, ignore_index=True)
    parsed_s = time.perf_counter() - started
    with duckdb.connect(str(workdir / "baseline.duckdb")) as con:
        con.register("samples_frame", samples)
        con.execute("create table activity_samples as select * from samples_frame")
        con.register("activities_frame", csv)
        con.execute("create table activities as select * from activities_frame")
        loaded = con.execute("select count(*) from activity_samples").fetchone()[0]
        activities = con.execute("select count(*) from activities").fetchone()[0]
    return {
        "seconds": time.perf_counter() - started,
        "steps": {"parse": parsed_s, "load": time.perf_counter() - started - parsed_s},
        "activities": activities,
        "files": len(frames),
        "samples": loaded,
    }


# --- children and the parent -----------------------------------------------------------------


def child_main(args: argparse.Namespace) -> None:
    import resource

    run = {"ours": run_ours, "dagster": run_dagster, "baseline": run_baseline}[args.child]
    start, end = datetime.fromisoformat(args.start), datetime.fromisoformat(args.end)

    def runner() -> dict[str, Any]:
        return run(Path(args.archive), start, end, Path(args.workdir))

    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        result = profiler.runcall(runner)
        profiler.dump_stats(args.profile)
    else:
        result = runner()
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    result.update(
        cpu_s=own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime,
        own_peak_mb=own.ru_maxrss / 1024,
        worker_peak_mb=children.ru_maxrss / 1024,
    )
    Path(args.out).write_text(json.dumps(result))


def _tree_rss_mb(pid: int) -> float:
    """RSS of a process and all its descendants (pool workers share some pages: an upper bound)."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) / 1024
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as kids:
                    todo += [int(child) for child in kids.read().split()]
        except OSError:
            continue
    return total


def run_child(variant: str, archive: Path, start: datetime, end: datetime,
              profile: str | None, max_rss_mb: float) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix=f"archive-bench-{variant}-"))
    out = workdir / "result.json"
    args = [sys.executable, __file__, "--child", variant, "--archive", str(archive),
            "--start", start.isoformat(), "--end", end.isoformat(),
            "--workdir", str(workdir), "--out", str(out)]
    if profile:
        args += ["--profile", profile]
    log = (workdir / "child.log").open("w+")
    started = time.perf_counter()
    env = {**os.environ, "RUNTIME__LOG_LEVEL": "ERROR"}  # dlt's per-item schema-hint warnings
    proc = subprocess.Popen(args, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    peak = 0.0
    try:
        while proc.poll() is None:
            peak = max(peak, _tree_rss_mb(proc.pid))
            if peak > max_rss_mb:
                proc.kill()
                raise SystemExit(f"{variant} killed above {max_rss_mb:,.0f} MB")
            time.sleep(0.1)
        if proc.returncode != 0:
            log.seek(0)
            sys.stderr.write(log.read()[-6000:])
            raise SystemExit(f"{variant} failed (exit {proc.returncode})")
        result = json.loads(out.read_text())
    finally:
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)
    result["process_s"] = time.perf_counter() - started
    result["tree_peak_mb"] = peak
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--years", type=int, default=5, choices=range(1, 6))
    parser.add_argument(
        "--only", choices=("ours", "dagster", "baseline"), action="append", help="run these"
    )
    parser.add_argument("--profile", help="cProfile the variant(s) into PREFIX-<variant>.prof")
    parser.add_argument("--max-rss-gb", type=float, default=8.0)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    for hidden in ("--archive", "--start", "--end", "--workdir", "--out"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args)
        return

    archive = archive_for(5)  # a shorter run imports the last years of the same archive
    start = datetime(LAST_DAY.year - args.years + 1, 1, 1, tzinfo=UTC)
    end = datetime.combine(LAST_DAY + timedelta(days=1), datetime.min.time(), UTC)
    print(f"Archive {archive} ({archive.stat().st_size / 1e6:.0f} MB), {start:%Y-%m-%d} .. "
          f"{LAST_DAY}; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    results = {}
    for variant in ("ours", "dagster", "baseline"):
        if args.only and variant not in args.only:
            continue
        profile = f"{args.profile}-{variant}.prof" if args.profile else None
        results[variant] = result = run_child(
            variant, archive, start, end, profile, args.max_rss_gb * 1024)
        steps = ", ".join(f"{k} {v:,.1f}" for k, v in result["steps"].items())
        print(f"{variant:9} {result['seconds']:7.1f} s  (process {result['process_s']:.1f} s, "
              f"CPU {result['cpu_s']:.1f} s incl. workers; {steps})")
        print(f"{'':9} peak {result['tree_peak_mb']:,.0f} MB for the process tree "
              f"(main {result['own_peak_mb']:,.0f} MB, largest worker "
              f"{result['worker_peak_mb']:,.0f} MB); {result['activities']} activities, "
              f"{result['files']} files, {result['samples']:,} samples"
              + (f", {result['problems']} problems" if "problems" in result else ""))
    if {"ours", "dagster"} <= set(results):
        ours, dagster = results["ours"], results["dagster"]
        same = (ours["activities"], ours["samples"]) == (dagster["activities"], dagster["samples"])
        print(f"as a Dagster run: {dagster['seconds'] / ours['seconds']:.2f}x the bare import "
              f"(target <= 1.5); same activities and samples: {'yes' if same else 'NO'}")
    if not {"ours", "baseline"} <= set(results):
        return
    ours, baseline = results["ours"], results["baseline"]
    dagster_fields = ""
    if "dagster" in results:
        dagster_s = results["dagster"]["seconds"]
        ratio = dagster_s / ours["seconds"]
        dagster_fields = f" dagster_s={dagster_s:.1f} dagster_ratio={ratio:.2f}"
    same = ours["activities"] == baseline["activities"] and ours["samples"] == baseline["samples"]
    print("same activities and samples: " + ("yes" if same else (
        f"NO (ours {ours['activities']} / {ours['samples']}, baseline "
        f"{baseline['activities']} / {baseline['samples']})")))
    print(f"load average at the end {os.getloadavg()[0]:.1f} (2 shared cores: timings wander)")
    print(f"activities={ours['activities']} samples={ours['samples']} "
          f"ours_s={ours['seconds']:.1f} baseline_s={baseline['seconds']:.1f} "
          f"speedup={baseline['seconds'] / ours['seconds']:.2f} "
          f"ours_mb={ours['tree_peak_mb']:.0f} baseline_mb={baseline['tree_peak_mb']:.0f}"
          + dagster_fields)


if __name__ == "__main__":
    main()
