"""Which FIT, GPX and TCX parser the import uses: correctness first, then speed.

Every shared real file (`../shared/strava-export/`) is decoded by each candidate, in one process,
`--repeats` times (the fastest repeat counts: the others only add the noise of a shared machine).

- **FIT**: `fitdecode`, `garmin-fit-sdk`, `fitfast` (Rust) and `pyfitparsernative` (Rust, the
  project's choice). Each candidate's task is "file bytes → record columns" (numpy arrays: time,
  position in degrees, heart rate, cadence, speed, distance, altitude, temperature). For the
  project's choice the whole `parse_activity_file` is timed instead (samples and laps tables,
  moving time, elevation gain included), so its figure is an upper bound. Correct means: the
  records equal every `*-records.csv` (the tolerances of `test_activity_files.py`), every intact
  file decodes, and a truncated file and a copy with one flipped byte are refused.
- **GPX**: `gpxpy` against the project's reader on the standard library's ElementTree and on
  lxml. **TCX**: `tcxreader` against the same two. Each reads the timed points into columns;
  a "(whole parse)" row times the project's `parse_activity_file` for reference. Correct means:
  the timed points (count and times) equal what the XML holds, read independently, for each
  file as it is, led by whitespace (as Strava's own TCX files are) and led by a BOM.

    uv run python benchmarks/parsers.py [--repeats 5]

Then `parse_many` over every shared file (`--pool-copies` times each), in one process and over
the machine's cores.

Last line: `fit_best=<name> fit_s=<s> fit_<candidate>_s=<s> ... gpx_best=... tcx_best=...
serial_s=<s> pool_s=<s>` (s = seconds for all of the format's files once; a candidate that is
not correct is never best).
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fitdecode
import fitfast
import gpxpy
import lxml.etree
import numpy as np
from garmin_fit_sdk import Decoder, Stream
from tcxreader.tcxreader import TCXReader

from strava_datastack.files import gpx, tcx
from strava_datastack.files.activity_file import ActivityFileError, parse_activity_file, parse_many
from strava_datastack_tests.helpers import (
    BROKEN,
    FIT_DIR,
    FIT_WITH_RECORDS,
    GPX_DIR,
    LOADING_GPX,
    TCX_DIR,
    TOLERANCE,
    read_records_csv,
    records_csv_of,
    xml_points,
)

SEMICIRCLE_DEGREES = 180.0 / 2**31
FIT_EPOCH = datetime(1989, 12, 31, tzinfo=UTC)
FIT_INTACT = sorted(p for p in FIT_DIR.glob("*.fit") if p not in BROKEN and "corrupt" not in p.name)
TCX_FILES = sorted(TCX_DIR.glob("*.tcx"))
CHANNELS = ("lat", "lng", "heartrate", "cadence", "velocity_smooth", "distance", "altitude", "temp")

Columns = tuple[np.ndarray, dict[str, np.ndarray]]  # (Unix seconds, channel → floats)


def _arrays(times: list, rows: dict[str, list]) -> Columns:
    return (
        np.array(times, dtype=np.float64),
        {name: np.array(values, dtype=np.float64) for name, values in rows.items()},
    )


# ---- FIT candidates: bytes → record columns --------------------------------------------------

FIT_FIELDS = {  # channel → FIT field names, first present wins
    "lat": ("position_lat",),
    "lng": ("position_long",),
    "heartrate": ("heart_rate",),
    "cadence": ("cadence",),
    "velocity_smooth": ("enhanced_speed", "speed"),
    "distance": ("distance",),
    "altitude": ("enhanced_altitude", "altitude"),
    "temp": ("temperature",),
}


def _first(get: Callable[[str], object], names: tuple[str, ...]) -> float | None:
    for name in names:
        value = get(name)
        if value is not None:
            return value  # type: ignore[return-value]
    return None


def fit_fitdecode(name: str, data: bytes) -> Columns:
    times: list = []
    rows: dict[str, list] = {channel: [] for channel in FIT_FIELDS}
    reader = fitdecode.FitReader(io.BytesIO(data), check_crc=fitdecode.CrcCheck.RAISE)
    with reader:
        for frame in reader:
            if not (isinstance(frame, fitdecode.FitDataMessage) and frame.name == "record"):
                continue
            stamp = frame.get_value("timestamp", fallback=None)
            if stamp is None:
                continue
            if isinstance(stamp, int):  # compressed-timestamp records: raw FIT seconds
                stamp = FIT_EPOCH + timedelta(seconds=stamp)
            times.append(stamp.timestamp())
            for channel, names in FIT_FIELDS.items():
                rows[channel].append(
                    _first(lambda n: frame.get_value(n, fallback=None), names)  # noqa: B023
                )
    columns = _arrays(times, rows)
    columns[1]["lat"] *= SEMICIRCLE_DEGREES
    columns[1]["lng"] *= SEMICIRCLE_DEGREES
    return columns


def fit_garmin_sdk(name: str, data: bytes) -> Columns:
    messages, errors = Decoder(Stream.from_byte_array(bytearray(data))).read()
    if errors:
        raise ValueError(str(errors[0]))
    times: list = []
    rows: dict[str, list] = {channel: [] for channel in FIT_FIELDS}
    for record in messages.get("record_mesgs", []):
        if record.get("timestamp") is None:
            continue
        times.append(record["timestamp"].replace(tzinfo=UTC).timestamp())
        for channel, names in FIT_FIELDS.items():
            rows[channel].append(_first(record.get, names))
    columns = _arrays(times, rows)
    columns[1]["lat"] *= SEMICIRCLE_DEGREES
    columns[1]["lng"] *= SEMICIRCLE_DEGREES
    return columns


def fit_fitfast(name: str, data: bytes) -> Columns:
    records = fitfast.records(data)  # positions already in degrees
    length = len(records.get("timestamp", []))
    missing = np.full(length, np.nan)
    channels = {}
    for channel, names in FIT_FIELDS.items():
        values = missing
        for field in reversed(names):
            column = records.get(field)
            if column is not None:
                values = np.where(np.isnan(column), values, column)
        channels[channel] = values
    return np.asarray(records.get("timestamp", missing)), channels


def fit_project(name: str, data: bytes) -> Columns:
    """The project's whole parse (pyfitparsernative inside): first activity's samples."""
    activity = parse_activity_file(name, data)[0]
    start = activity.start_date.replace(tzinfo=UTC).timestamp()
    samples = activity.samples
    times = start + samples["time"].to_numpy().astype(np.float64)
    return times, {c: samples[c].cast("double").to_numpy(zero_copy_only=False) for c in CHANNELS}


FIT_CANDIDATES = {
    "fitdecode": fit_fitdecode,
    "garmin_fit_sdk": fit_garmin_sdk,
    "fitfast": fit_fitfast,
    "pyfitparsernative": fit_project,
}


def _fit_problems(decode: Callable[[str, bytes], Columns]) -> list[str]:
    problems = []
    for path in FIT_WITH_RECORDS:
        want_times, expected = read_records_csv(records_csv_of(path))
        try:
            times, channels = decode(path.name, path.read_bytes())
        except Exception as error:
            problems.append(f"{path.name}: {type(error).__name__}: {error}"[:120])
            continue
        # Records with no value but their time are not samples (the CSV leaves them out too).
        has_data = np.zeros(len(times), dtype=bool)
        for values in channels.values():
            has_data |= ~np.isnan(values)
        times = times[has_data]
        got_times = [datetime.fromtimestamp(t, UTC).replace(tzinfo=None) for t in times]
        if got_times != want_times:
            problems.append(f"{path.name}: {len(got_times)} timed records, CSV {len(want_times)}")
            continue
        for channel, want in expected.items():
            have = channels[channel][has_data]
            bad = 0
            for row, value in enumerate(want):
                got = have[row]
                if np.isnan(got):
                    # FIT's invalid marker: the CSV repeats the previous row's value there.
                    bad += value is not None and (row == 0 or value != want[row - 1])
                elif value is None or abs(got - value) > TOLERANCE.get(channel, 0):
                    bad += 1
            if bad:
                problems.append(f"{path.name}: {bad} {channel} values differ from the CSV")
    for path in FIT_INTACT:
        try:
            decode(path.name, path.read_bytes())
        except Exception as error:
            problems.append(f"{path.name} (intact) refused: {error}"[:120])
    flipped = bytearray((FIT_DIR / "garmin-fenix-5-run.fit").read_bytes())
    flipped[len(flipped) // 2] ^= 0xFF
    for label, data in (
        ("a flipped byte", bytes(flipped)),
        ("a truncated file", (FIT_DIR / "activity-unexpected-eof.fit").read_bytes()),
    ):
        try:
            decode("bad.fit", data)
            problems.append(f"{label} was accepted")
        except Exception:
            pass
    return problems


# ---- GPX candidates: bytes → timed point columns ---------------------------------------------


def gpx_gpxpy(name: str, data: bytes) -> Columns:
    document = gpxpy.parse(data.decode("utf-8-sig"))
    times: list = []
    rows: dict[str, list] = {"lat": [], "lng": [], "altitude": [], "heartrate": []}
    for track in document.tracks:
        for segment in track.segments:
            for point in segment.points:
                if point.time is None:
                    continue
                times.append(point.time.timestamp())
                rows["lat"].append(point.latitude)
                rows["lng"].append(point.longitude)
                rows["altitude"].append(point.elevation)
                heartrate = None
                for extension in point.extensions:
                    for element in extension.iter():
                        if element.tag.rpartition("}")[2] == "hr":
                            heartrate = float(element.text)
                rows["heartrate"].append(heartrate)
    return _arrays(times, rows)


def _project_columns(activity) -> Columns:
    start = activity.start_date.replace(tzinfo=UTC).timestamp()
    samples = activity.samples
    return start + samples["time"].to_numpy().astype(np.float64), {
        c: samples[c].cast("double").to_numpy(zero_copy_only=False) for c in CHANNELS
    }


def gpx_elementtree(name: str, data: bytes) -> Columns:
    return gpx.point_columns(name, data, etree_module=ET)[:2]


def gpx_lxml(name: str, data: bytes) -> Columns:
    return gpx.point_columns(name, data, etree_module=lxml.etree)[:2]


def project_parse(name: str, data: bytes) -> Columns:
    """The whole parse_activity_file (samples, laps, derived values): for reference, not a
    candidate (the candidates above only read columns)."""
    return _project_columns(parse_activity_file(name, data)[0])


GPX_CANDIDATES = {"gpxpy": gpx_gpxpy, "elementtree": gpx_elementtree, "lxml": gpx_lxml}
GPX_FILES = [GPX_DIR / name for name in LOADING_GPX]


# ---- TCX candidates ----------------------------------------------------------------------------


def tcx_tcxreader(name: str, data: bytes) -> Columns:
    path = TCX_DIR / name
    if not path.exists():  # it reads paths only: a variant made here goes through a file
        with tempfile.NamedTemporaryFile(suffix=".tcx", delete=False) as handle:
            handle.write(data)
        path = Path(handle.name)
    exercise = TCXReader().read(str(path), only_gps=False)
    times: list = []
    rows: dict[str, list] = {"lat": [], "lng": [], "altitude": [], "heartrate": [], "distance": []}
    for point in exercise.trackpoints:
        if point.time is None:
            continue
        times.append(point.time.replace(tzinfo=UTC).timestamp())
        rows["lat"].append(point.latitude)
        rows["lng"].append(point.longitude)
        rows["altitude"].append(point.elevation)
        rows["heartrate"].append(point.hr_value)
        rows["distance"].append(point.distance)
    return _arrays(times, rows)


def _tcx_columns(name: str, data: bytes, etree_module) -> Columns:
    times, channels, _ = tcx.point_columns(tcx.activities(name, data, etree_module)[0])
    return times, channels


def tcx_elementtree(name: str, data: bytes) -> Columns:
    return _tcx_columns(name, data, ET)


def tcx_lxml(name: str, data: bytes) -> Columns:
    return _tcx_columns(name, data, lxml.etree)


TCX_CANDIDATES = {"tcxreader": tcx_tcxreader, "elementtree": tcx_elementtree, "lxml": tcx_lxml}


def _xml_problems(decode, files: list[Path], point: str, stamp: str) -> list[str]:
    """Each file, and a copy led by whitespace (as Strava writes TCX) or a BOM (Windows tools)."""
    problems = []
    for path, label, lead in [
        (path, label, lead)
        for path in files
        for label, lead in (("", b""), ("whitespace-led ", b"\n   "), ("BOM-led ", b"\xef\xbb\xbf"))
    ]:
        want = xml_points(path, point, stamp)
        try:
            times, _ = decode(label.replace(" ", "-") + path.name, lead + path.read_bytes())
        except Exception as error:
            problems.append(f"{label}{path.name}: {type(error).__name__}: {error}"[:120])
            continue
        got = [round(t) for t in times]
        if got != [round(w.replace(tzinfo=UTC).timestamp()) for w in want]:
            problems.append(f"{path.name}: {len(got)} timed points, the XML has {len(want)}")
    return problems


# ---- timing --------------------------------------------------------------------------------------


def _timed(decode, files: list[Path], repeats: int) -> tuple[float, int]:
    contents = [(path.name, path.read_bytes()) for path in files]
    best, samples = float("inf"), 0
    for _ in range(repeats):
        started = time.perf_counter()
        samples = 0
        for name, data in contents:
            try:
                samples += len(decode(name, data)[0])
            except (ActivityFileError, Exception):  # timed anyway: a refusal costs time too
                pass
        best = min(best, time.perf_counter() - started)
    return best, samples


def _pool_figures(copies: int) -> tuple[float, float, int]:
    """Seconds for every shared file `copies` times, in one process and over parse_many's pool."""
    items = [
        (f"{n}-{path.name}", path.read_bytes())
        for n in range(copies)
        for path in [*FIT_DIR.glob("*.fit"), *GPX_DIR.glob("*.gpx"), *TCX_FILES]
    ]
    timings = []
    for workers in (1, None):
        started = time.perf_counter()
        activities = sum(
            len(result) for _, result in parse_many(items, workers) if isinstance(result, list)
        )
        timings.append(time.perf_counter() - started)
    return timings[0], timings[1], activities


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pool-copies", type=int, default=10)
    args = parser.parse_args()
    groups = [
        ("fit", FIT_CANDIDATES, FIT_INTACT, _fit_problems),
        ("gpx", GPX_CANDIDATES, GPX_FILES, lambda d: _xml_problems(d, GPX_FILES, "trkpt", "time")),
        (
            "tcx",
            TCX_CANDIDATES,
            TCX_FILES,
            lambda d: _xml_problems(d, TCX_FILES, "Trackpoint", "Time"),
        ),
    ]
    summary = []
    print(
        f"{'format':<6} {'candidate':<18} {'correct':<8} {'seconds':>9} {'samples':>8} "
        f"{'samples/s':>11}  problems"
    )
    for fmt, candidates, files, problems_of in groups:
        results = {}
        for name, decode in candidates.items():
            problems = problems_of(decode)
            seconds, samples = _timed(decode, files, args.repeats)
            results[name] = (not problems, seconds)
            print(
                f"{fmt:<6} {name:<18} {'yes' if not problems else 'NO':<8} {seconds:>9.4f} "
                f"{samples:>8} {samples / seconds:>11,.0f}  {'; '.join(problems[:3])}"
            )
        if fmt != "fit":  # FIT's project row is already the whole parse
            seconds, samples = _timed(project_parse, files, args.repeats)
            print(
                f"{fmt:<6} {'(whole parse)':<18} {'':<8} {seconds:>9.4f} {samples:>8} "
                f"{samples / seconds:>11,.0f}  the project's parse_activity_file, for reference"
            )
        correct = {n: s for n, (ok, s) in results.items() if ok}
        best = min(correct, key=correct.get) if correct else "none"
        summary.append(f"{fmt}_best={best}")
        summary.append(f"{fmt}_s={correct.get(best, float('nan')):.4f}")
        summary += [f"{fmt}_{n}_s={s:.4f}" for n, (_, s) in results.items()]
    serial, pooled, activities = _pool_figures(args.pool_copies)
    print(
        f"parse_many: {activities} activities from the shared files x{args.pool_copies}: "
        f"{serial:.2f} s in one process, {pooled:.2f} s over {os.cpu_count()} workers"
    )
    summary += [f"serial_s={serial:.2f}", f"pool_s={pooled:.2f}"]
    print(" ".join(summary))


if __name__ == "__main__":
    main()
