"""One activity file in, Strava-shaped activities out: the data type, the dispatch and the pool.

A file's format is chosen by its name (`.fit`, `.gpx`, `.tcx`, each optionally `.gz`, any case),
as Strava's export names them. Gzip is recognised by its magic bytes rather than the name, because
renamed files are common in sync folders and the bytes cannot lie. Each format module
(`fit.py`, `gpx.py`, `tcx.py`) only decodes: it hands numpy columns to `build_activity`, which
turns them into the samples and laps tables once, the same way for every format.

Bad input never raises anything but `ActivityFileError`, whose `reason` says in plain words what
is wrong and what the user can do, so that an import can report the file and go on with the rest.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from strava_datastack.contract import FILES_TABLES
from strava_datastack.files import derived

# The contract's files tables without `activity_id`: the load adds it once it knows the id.
SAMPLE_SCHEMA = FILES_TABLES["activity_streams"].arrow_schema(without=("activity_id",))
LAP_SCHEMA = FILES_TABLES["activity_laps"].arrow_schema(without=("activity_id",))
FORMATS = {".fit": "fit", ".gpx": "gpx", ".tcx": "tcx"}

# Devices without a clock write placeholder times (GPX exporters 1901-12-13, the int32 minimum);
# nothing real was recorded before GPS receivers reached sport watches.
EARLIEST_START = datetime(1990, 1, 1)
# A gzipped activity file larger than this unpacked is not an activity (a compressed bomb, or the
# wrong file): 256 MB is ~50 times the largest ultra-distance FIT file seen in the wild.
MAX_UNPACKED_BYTES = 256 * 1024 * 1024

# Sample channels a format module may fill (float arrays, NaN where missing): the samples'
# columns but for the index, the time and the two `build_activity` derives.
CHANNELS = tuple(
    name
    for name in SAMPLE_SCHEMA.names
    if name not in ("sample_index", "time", "moving", "grade_smooth")
)
_INTEGER_CHANNELS = ("heartrate", "cadence", "watts", "temp")


class ActivityFileError(Exception):
    """A file that cannot be read as an activity; `reason` says what is wrong and what to do."""

    def __init__(self, path: str | os.PathLike[str], reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):  # picklable across the process pool
        return (ActivityFileError, (self.path, self.reason))


@dataclass
class ParsedActivity:
    path: str
    file_format: str
    sport_type: str | None
    start_date: datetime
    elapsed_time: int
    moving_time: int
    distance: float | None
    total_elevation_gain: float | None
    device_name: str | None
    samples: pa.Table = field(repr=False)
    laps: pa.Table = field(repr=False)
    route: dict[str, Any] = field(repr=False)  # derived.route_summary


@dataclass
class LapSpec:
    """A lap as a file states it: its times (Unix seconds) and what the device measured."""

    start: float
    end: float | None = None
    elapsed_time: float | None = None
    moving_time: float | None = None
    distance: float | None = None
    name: str | None = None


def file_format(path: str | os.PathLike[str]) -> str:
    """'fit', 'gpx' or 'tcx' from the file name (a trailing .gz ignored), else ActivityFileError."""
    name = Path(path).name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    fmt = FORMATS.get(Path(name).suffix)
    if fmt is None:
        raise ActivityFileError(
            path,
            "is not an activity file this import reads (.fit, .gpx or .tcx, optionally "
            "gzipped as .gz); remove it from the import folder or rename it if it is one.",
        )
    return fmt


def read_bytes(path: str | os.PathLike[str], data: bytes | None = None) -> bytes:
    """The file's content, unpacked if gzipped (by magic bytes), with a guard against bombs."""
    if data is None:
        try:
            data = Path(path).read_bytes()
        except OSError as error:
            raise ActivityFileError(
                path, f"could not be read ({error.strerror or error}); check that it exists."
            ) from None
    if data[:2] != b"\x1f\x8b":
        # Named .gz but stored plain happens (a user unpacked it and kept the name): read as is.
        return data
    unpacker = zlib.decompressobj(wbits=47)
    try:
        unpacked = unpacker.decompress(data, MAX_UNPACKED_BYTES)
    except zlib.error:
        raise ActivityFileError(
            path, "is gzip-compressed but the compressed data is damaged; download it again."
        ) from None
    if unpacker.unconsumed_tail:
        raise ActivityFileError(
            path,
            f"unpacks to more than {MAX_UNPACKED_BYTES // 2**20} MB, which no activity file "
            "does (a compressed bomb or the wrong file); it was not unpacked.",
        )
    if not unpacker.eof:
        raise ActivityFileError(
            path, "is gzip-compressed but ends early (truncated download?); download it again."
        )
    return unpacked


def _decoder(fmt: str):
    # Imported here: the format modules import build_activity from this module.
    if fmt == "fit":
        from strava_datastack.files import fit as module
    elif fmt == "gpx":
        from strava_datastack.files import gpx as module
    else:
        from strava_datastack.files import tcx as module
    return module


def parse_activity_file(
    path: str | os.PathLike[str], data: bytes | None = None
) -> list[ParsedActivity]:
    """Every activity in one file (a multisport FIT holds several); ActivityFileError if none.

    `data` is the raw (possibly gzipped) content when the file is a ZIP member; `path` is then
    the display name used in errors and in `ParsedActivity.path`.
    """
    fmt = file_format(path)
    content = read_bytes(path, data)
    try:
        return _decoder(fmt).parse(str(path), content)
    except ActivityFileError:
        raise
    except Exception as error:  # a decoder's own surprise must not stop an import
        raise ActivityFileError(
            path,
            f"could not be read as a {fmt.upper()} file ({type(error).__name__}: {error}); "
            "open it in the device's or another app to check it is intact.",
        ) from None


def peek_start(
    path: str | os.PathLike[str], data: bytes | None = None
) -> tuple[datetime, str | None]:
    """Start time (naive UTC) and sport of a file's first activity, reading as little as it can.

    For indexing thousands of files: it does not build samples, and GPX/TCX are only scanned up
    to their first time, so a file that peeks well can still fail `parse_activity_file`.
    """
    fmt = file_format(path)
    content = read_bytes(path, data)
    try:
        start, sport = _decoder(fmt).peek(str(path), content)
    except ActivityFileError:
        raise
    except Exception as error:
        raise ActivityFileError(
            path,
            f"could not be read as a {fmt.upper()} file ({type(error).__name__}: {error}).",
        ) from None
    return check_start(path, start), sport


def check_start(path: str | os.PathLike[str], start: datetime) -> datetime:
    if start < EARLIEST_START:
        raise ActivityFileError(
            path,
            f"its times start on {start:%Y-%m-%d}, a placeholder the recording app writes when "
            "it has no clock, so the activity cannot be placed on a day; export it again from "
            "the app with times, or upload it to Strava and import Strava's export.",
        )
    return start


# Sport words of GPX <type> and TCX Sport="..." (lower-cased, spaces and _ removed) → sport_type.
XML_SPORTS = {
    "running": "Run",
    "run": "Run",
    "trailrunning": "TrailRun",
    "biking": "Ride",
    "cycling": "Ride",
    "ride": "Ride",
    "mountainbiking": "MountainBikeRide",
    "walking": "Walk",
    "walk": "Walk",
    "hiking": "Hike",
    "hike": "Hike",
    "swimming": "Swim",
    "crosscountryskiing": "NordicSki",
    "nordicski": "NordicSki",
    "alpineskiing": "AlpineSki",
    "rowing": "Rowing",
    "standuppaddling": "StandUpPaddling",
    "kayaking": "Kayaking",
}


def sport_from_word(word: str | None) -> str | None:
    if not word:
        return None
    return XML_SPORTS.get(word.strip().lower().replace(" ", "").replace("_", ""))


def xml_text(data: bytes) -> bytes:
    """The XML document without what strict parsers reject before `<?xml` (a BOM, whitespace).

    Strava's own `.tcx` files start with whitespace; exporters on Windows add a BOM.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.lstrip()


def xml_root(path: str | os.PathLike[str], data: bytes, etree_module: Any = ET):
    """The document's root element; `etree_module` is ElementTree (the project's choice, see
    gpx.py) or a compatible module such as lxml.etree (the benchmark compares them)."""
    try:
        return etree_module.fromstring(xml_text(data))
    except Exception as error:  # ElementTree.ParseError, lxml's XMLSyntaxError
        raise ActivityFileError(
            path,
            f"is not well-formed XML ({error}); the file is damaged or cut short, export it again.",
        ) from None


def unix_from_iso(values: list[str | None]) -> np.ndarray:
    """ISO 8601 times (Z, offsets, any fraction; naive ones taken as UTC) → Unix seconds, NaN
    where missing or unreadable. Arrow parses the common forms in one call; the rest one by one."""
    out = np.full(len(values), np.nan)
    present = [i for i, v in enumerate(values) if v]
    if not present:
        return out
    texts = [values[i].strip() for i in present]  # type: ignore[union-attr]
    try:
        stamps = pa.array(texts).cast(pa.timestamp("ns", tz="UTC"))
        out[present] = stamps.cast(pa.int64()).to_numpy() / 1e9
        return out
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    for i, text in zip(present, texts, strict=True):
        out[i] = _unix_from_one_iso(text)
    return out


def _unix_from_one_iso(text: str) -> float:
    head, dot, rest = text.partition(".")
    if dot:  # Python reads at most 6 fraction digits; some exporters write 7
        digits = len(rest) - len(rest.lstrip("0123456789"))
        rest = rest[: min(digits, 6)] + rest[digits:]
        text = f"{head}.{rest}"
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return float("nan")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def floats_from_text(values: list[str | None]) -> np.ndarray:
    """Numbers as XML text → floats, NaN where missing or not a number (one Arrow cast)."""
    texts = pc.utf8_trim_whitespace(pa.array(values, pa.string()))
    try:
        return texts.cast(pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:
        pass
    out = np.full(len(values), np.nan)
    for i, value in enumerate(values):
        try:
            out[i] = float(value) if value else np.nan
        except ValueError:
            pass
    return out


def namespace_of(element: Any) -> str:
    """The `{uri}` prefix of an element's tag ('' without one), to look up its siblings' tags
    exactly: ElementTree's iter() knows no `{*}` wildcard, and exact tags are faster in lxml."""
    tag = element.tag
    return tag[: tag.index("}") + 1] if tag.startswith("{") else ""


def local_name(tag: Any) -> str:
    """An element's tag without its namespace ('' for comments and processing instructions)."""
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def utc_from_unix(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


def _int_column(values: np.ndarray) -> pa.Array:
    missing = np.isnan(values)
    return pa.array(np.where(missing, 0, np.round(values)).astype(np.int64), mask=missing)


def _float_column(values: np.ndarray) -> pa.Array:
    return pa.array(values, mask=np.isnan(values), type=pa.float64())


def build_activity(
    *,
    path: str,
    file_format: str,
    times: np.ndarray,
    channels: Mapping[str, np.ndarray],
    sport_type: str | None,
    device_name: str | None,
    laps: list[LapSpec] | None = None,
    elapsed_time: float | None = None,
    distance: float | None = None,
    start: float | None = None,
) -> ParsedActivity:
    """Samples and laps tables from decoded columns: the one place all formats meet.

    `times` are Unix seconds (UTC); `channels` holds float arrays of the same length with NaN
    where a sample lacks the value (missing channels may be left out). `start` is the start the
    file states (a FIT session's start_time, often a second before its first record): it is the
    activity's start_date and the time column counts from it, so start_date + time is each
    sample's own time. `elapsed_time` is the file's, or the span of the samples if that is longer
    (so that moving time never exceeds it). Distance is computed from positions and speed from
    distance when the file lacks them, as Strava's streams always have both; `moving` and
    `grade_smooth` follow the rules in `derived`. Samples out of time order (tracks of a GPX
    concatenated in the wrong order) are put in order.
    """
    times = np.asarray(times, dtype=np.float64)
    if len(times) > 1 and (np.diff(times) < 0).any():
        order = np.argsort(times, kind="stable")
        times = times[order]
        channels = {name: np.asarray(values)[order] for name, values in channels.items()}
    n = len(times)
    if n == 0:
        raise ActivityFileError(path, "holds no samples with a time; it is not an activity.")
    if start is None or not times[0] - 60 <= start <= times[0]:
        start = float(times[0])  # a stated start far from the samples is not trusted
    start_date = check_start(path, utc_from_unix(start))
    missing = np.full(n, np.nan)
    cols = {name: np.asarray(channels.get(name, missing), np.float64) for name in CHANNELS}
    elapsed = times - start
    if np.all(np.isnan(cols["distance"])) and not np.all(np.isnan(cols["lat"])):
        cols["distance"] = derived.distance_from_positions(cols["lat"], cols["lng"])
    if np.all(np.isnan(cols["velocity_smooth"])) and not np.all(np.isnan(cols["distance"])):
        cols["velocity_smooth"] = derived.speed_from_distance(elapsed, cols["distance"])
    arrays: dict[str, Any] = {"time": elapsed, **cols}
    moving = derived.moving_mask(arrays)
    grade = derived.grade_smooth(arrays)
    samples = pa.Table.from_arrays(
        [
            pa.array(np.arange(n, dtype=np.int64)),
            pa.array(np.round(elapsed).astype(np.int64)),
            *(
                _int_column(cols[name]) if name in _INTEGER_CHANNELS else _float_column(cols[name])
                for name in CHANNELS
            ),
            pa.array(moving),
            _float_column(grade),
        ],
        schema=SAMPLE_SCHEMA,
    )
    has_distance = not np.all(np.isnan(cols["distance"]))
    total_distance = distance
    if total_distance is None and has_distance:
        total_distance = float(np.nanmax(cols["distance"]))
    has_altitude = not np.all(np.isnan(cols["altitude"]))
    return ParsedActivity(
        path=path,
        file_format=file_format,
        sport_type=sport_type,
        start_date=start_date,
        elapsed_time=int(round(max(elapsed_time or 0.0, times[-1] - start))),
        moving_time=derived.moving_time(arrays),
        distance=total_distance,
        total_elevation_gain=round(derived.elevation_gain(arrays), 1) if has_altitude else None,
        device_name=device_name,
        samples=samples,
        laps=_laps_table(times, arrays, start_date, laps or [LapSpec(start=start)]),
        route=derived.route_summary(arrays),
    )


def _laps_table(
    times: np.ndarray, arrays: dict[str, np.ndarray], start: datetime, laps: list[LapSpec]
) -> pa.Table:
    """Strava's lap rows: what the device measured where it says, the rest from the samples."""
    rows: dict[str, list[Any]] = {name: [] for name in LAP_SCHEMA.names}
    n = len(times)
    for number, lap in enumerate(sorted(laps, key=lambda lap: lap.start), 1):
        # Samples before the first lap's stated start (a second early, often) belong to it.
        first = 0 if number == 1 else int(min(np.searchsorted(times, lap.start, "left"), n - 1))
        end = lap.end
        if end is None and lap.elapsed_time is not None:
            end = lap.start + lap.elapsed_time
        last = n - 1 if end is None else int(np.searchsorted(times, end, "right")) - 1
        if number == len(laps):
            last = n - 1  # and the samples after the last lap's stated end to the last lap
        last = max(first, min(last, n - 1))
        part = {name: values[first : last + 1] for name, values in arrays.items()}
        part["time"] = part["time"] - part["time"][0]
        elapsed = lap.elapsed_time if lap.elapsed_time is not None else times[last] - times[first]
        distance = lap.distance
        if distance is None:
            covered = part["distance"][~np.isnan(part["distance"])]
            distance = float(covered[-1] - covered[0]) if len(covered) else None
        moving = lap.moving_time if lap.moving_time is not None else derived.moving_time(part)
        speed = part["velocity_smooth"]

        def stat(values: np.ndarray, how) -> float | None:
            values = values[~np.isnan(values)]
            return float(how(values)) if len(values) else None

        rows["lap_index"].append(number)
        rows["split"].append(number)
        rows["name"].append(lap.name or f"Lap {number}")
        rows["start_date"].append(utc_from_unix(lap.start) if lap.start else start)
        rows["start_date_local"].append(None)  # files carry no time zone; the lead's join adds it
        rows["elapsed_time"].append(int(round(elapsed)))
        rows["moving_time"].append(int(round(moving)))
        rows["distance"].append(distance)
        has_altitude = not np.all(np.isnan(part["altitude"]))
        rows["total_elevation_gain"].append(
            round(derived.elevation_gain(part), 1) if has_altitude else None
        )
        rows["average_speed"].append(distance / moving if distance is not None and moving else None)
        rows["max_speed"].append(stat(speed, np.max))
        rows["average_cadence"].append(stat(part["cadence"], np.mean))
        rows["average_heartrate"].append(stat(part["heartrate"], np.mean))
        rows["max_heartrate"].append(stat(part["heartrate"], np.max))
        rows["average_watts"].append(stat(part["watts"], np.mean))
        rows["start_index"].append(first)
        rows["end_index"].append(last)
        rows["pace_zone"].append(None)
    return pa.Table.from_pydict(rows, schema=LAP_SCHEMA)


def _parse_item(item: Any) -> list[ParsedActivity]:
    """A pool task: a path, or a (display name, raw bytes) pair from a ZIP."""
    if isinstance(item, tuple):
        return parse_activity_file(item[0], item[1])
    return parse_activity_file(item)


def _parse_or_error(
    item: Any, derive: Callable[[ParsedActivity], Any] | None = None
) -> list[ParsedActivity] | list[tuple[ParsedActivity, Any]] | ActivityFileError:
    try:
        activities = _parse_item(item)
    except ActivityFileError as error:
        return error
    if derive is None:
        return activities
    return [(activity, derive(activity)) for activity in activities]


def parse_many(
    paths_or_items: Iterable[Any],
    workers: int | None = None,
    derive: Callable[[ParsedActivity], Any] | None = None,
) -> Iterator[tuple[Any, Any]]:
    """Parse files over a process pool; (item, activities or error) in completion order.

    Items are paths or (display name, raw bytes) pairs. Errors come back as values so one bad
    file never stops the rest. At most a few tasks per worker are in flight at once, so a folder
    of thousands of files (or ZIP members read as bytes) is never all in memory. `derive` (a
    module-level function, so it can be sent to the workers) runs in the worker on each parsed
    activity; the result is then a list of (activity, derive(activity)) pairs, so what is
    computed from the samples is computed in parallel too.
    """
    workers = workers or os.cpu_count() or 1
    items = iter(paths_or_items)
    if workers == 1:
        for item in items:
            yield item, _parse_or_error(item, derive)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: dict[Any, Any] = {}
        for item in items:
            pending[pool.submit(_parse_or_error, item, derive)] = item
            if len(pending) >= 4 * workers:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield pending.pop(future), future.result()
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield pending.pop(future), future.result()
