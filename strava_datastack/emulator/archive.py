"""The synthetic athlete's Strava export archive, in Strava's layout.

What a user downloads from Strava ("Download or Delete Your Account" -> "Request your archive"),
written for the emulator's athlete so the project's archive import can be driven end to end
without a real account: ``activities.csv`` (English or Czech), the original file of every recorded
activity under ``activities/``, ``bikes.csv`` and ``shoes.csv``, zipped as
``export_<athlete id>.zip`` or as a folder.

The files carry the same samples the emulator's API serves (``/activities/{id}/streams``) and
``activities.csv`` the same summary numbers, because both come from the same per-activity plans
(:mod:`.plan`) expanded by :func:`.streams.expand`.

Which file an activity has mirrors a real mix, decided per activity from the seed: device
recordings (Garmin watches and the Edge head unit) are FIT, mostly ``.fit.gz`` and some plain
``.fit``; a share of walks and a few other outdoor activities were recorded with the Strava phone
app (GPX 1.1 with ``creator="StravaGPX ..."``, ``.gpx`` or ``.gpx.gz``); a few came through a
service that uploads TCX (``.tcx.gz``); manual entries have no file.

Same inputs, same bytes (fixed gzip and ZIP timestamps, ordered members), so the demo can cache
an archive. Expanding the 1 Hz streams is most of the cost; it runs on a few worker processes.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import time as _time
import zipfile
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from strava_datastack.strava.export_format import (
    BIKE_COLUMNS,
    LOCALES,
    SHOE_COLUMNS,
    ExportLocale,
)

from .athlete import SyntheticAthlete
from .fit_writer import FitWriter, fit_time, semicircles
from .history import HISTORY_START
from .rng import rng_for

FIT_GZ, FIT, GPX, GPX_GZ, TCX_GZ = ".fit.gz", ".fit", ".gpx", ".gpx.gz", ".tcx.gz"
# Product ids of the FIT profile (manufacturer 1 = Garmin).
GARMIN_PRODUCTS = {"Garmin Forerunner 945": 3113, "Garmin Forerunner 955": 4024,
                   "Garmin Edge 530": 3121}  # fmt: skip
FIT_SPORT = {  # sport_type -> (FIT sport, sub_sport)
    "Run": (1, 0), "TrailRun": (1, 3), "Ride": (2, 7), "GravelRide": (2, 46), "Swim": (5, 17),
    "Walk": (11, 0), "Hike": (17, 0),
}  # fmt: skip
GPX_TYPE = {"Run": "running", "TrailRun": "running", "Ride": "cycling",
            "GravelRide": "cycling", "Walk": "walking", "Hike": "hiking"}  # fmt: skip
TCX_SPORT = {"Run": "Running", "TrailRun": "Running", "Ride": "Biking", "GravelRide": "Biking"}
PRIVATE_NOTES = (
    "Bottle cage rattles again, fix it before Sunday.",
    "Left calf tight after 8 km,\nstretch more tonight.",
    'Tried the new gel, "salted caramel": never again.',
)
# Columns whose cells a real export always quotes, even when empty (Activity Date, Activity
# Description, Media).
ALWAYS_QUOTED = frozenset({1, 4, 93})


@dataclass(frozen=True)
class ArchiveSummary:
    """What :func:`write_archive` wrote.

    Attributes:
        path: The ZIP file, or the folder when not zipped.
        activities: Rows in ``activities.csv``.
        manual: Manual entries among them (no file).
        files: Activity files by suffix (``.fit.gz``, ``.fit``, ``.gpx``, ``.gpx.gz``, ``.tcx.gz``).
        bytes: Size of the ZIP, or of all files in the folder.
        start: First day (UTC) covered.
        end: Last day (UTC) covered.
    """

    path: Path
    activities: int
    manual: int
    files: dict[str, int] = field(default_factory=dict)
    bytes: int = 0
    start: date | None = None
    end: date | None = None


def write_archive(
    out: Path,
    *,
    locale: str = "en",
    start: date | None = None,
    end: date | None = None,
    zipped: bool = True,
    seed: int = 1,
    athlete: SyntheticAthlete | None = None,
    workers: int | None = None,
) -> ArchiveSummary:
    """Write the athlete's export archive for activities starting on ``start``..``end`` (UTC).

    Args:
        out: Folder to write into: ``out/export_<athlete id>.zip``, or (``zipped=False``) the
            archive's files directly in ``out`` (``out/activities.csv``, ``out/activities/``...).
        locale: ``"en"`` or ``"cs"`` (headers, dates, decimal commas, sport names).
        start: First day, default the start of the emulator's history.
        end: Last day (included), default today (UTC), as an export requested today.
        zipped: ZIP as Strava's download, or an unpacked folder.
        seed: The emulator athlete (ignored when ``athlete`` is given).
        athlete: An existing athlete (its edits and deletions show in the archive).
        workers: Processes that render files; default up to 2, and none for small ranges.

    Raises:
        ValueError: Unknown locale, or ``end`` before ``start``.
    """
    if locale not in LOCALES:
        raise ValueError(f"unknown export locale {locale!r}; choose one of {', '.join(LOCALES)}")
    start = start or HISTORY_START
    end = end or datetime.now(UTC).date()
    if end < start:
        raise ValueError(f"the archive's end {end} is before its start {start}")
    athlete = athlete or SyntheticAthlete(seed)
    chosen = [
        a for a in athlete.activities if start <= _start(a).date() <= end
    ]  # oldest first, as the API's history
    jobs = []
    for summary in chosen:
        extras = athlete.detail_extras(summary["id"]) or {}
        suffix = file_suffix(athlete.seed, summary)
        jobs.append((summary, extras, suffix))

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sink = _ZipSink(out / f"export_{athlete.athlete_id}.zip", end) if zipped else _DirSink(out)
    rows = []
    counts: Counter[str] = Counter()
    with sink:
        for (summary, extras, suffix), rendered in zip(
            jobs, _render_all(athlete, jobs, workers), strict=True
        ):
            stats: dict = {}
            filename = ""
            if rendered is not None:
                data, stats = rendered
                filename = f"activities/{summary['id']}{suffix}"
                sink.add(filename, data)
                counts[suffix] += 1
            rows.append(_activity_row(athlete, summary, extras, stats, filename, LOCALES[locale]))
        sink.add("activities.csv", _csv(LOCALES[locale].columns, rows).encode())
        bikes = [g for g in athlete.gear if g.is_bike]
        shoes = [g for g in athlete.gear if not g.is_bike]
        sink.add("bikes.csv", _csv(BIKE_COLUMNS, [_gear_row(g, "Ride") for g in bikes]).encode())
        sink.add("shoes.csv", _csv(SHOE_COLUMNS, [_gear_row(g, "Run") for g in shoes]).encode())
    return ArchiveSummary(
        path=sink.path,
        activities=len(rows),
        manual=sum(1 for s, _, _ in jobs if s["manual"]),
        files=dict(sorted(counts.items())),
        bytes=sink.size(),
        start=start,
        end=end,
    )


def file_suffix(seed: int, summary: dict) -> str | None:
    """Which original file an activity has (None for manual entries); stable per activity."""
    if summary["manual"]:
        return None
    rng = rng_for(seed, "archive-file", summary["id"])
    roll = rng.random()
    has_gps = bool(summary.get("start_latlng"))
    phone_share = 0.35 if summary["sport_type"] == "Walk" else 0.04
    if has_gps and summary["sport_type"] in GPX_TYPE and roll < phone_share:
        return GPX_GZ if rng.random() < 0.25 else GPX
    if roll > 0.96:
        return TCX_GZ
    return FIT if rng.random() < 0.08 else FIT_GZ


# ----- rendering (in worker processes for big ranges) ---------------------------------------

_WORKER_ATHLETE: SyntheticAthlete | None = None


def _init_worker(seed: int) -> None:
    global _WORKER_ATHLETE
    _WORKER_ATHLETE = SyntheticAthlete(seed)


def _render_in_worker(job: tuple[dict, dict, str | None]) -> tuple[bytes, dict] | None:
    assert _WORKER_ATHLETE is not None
    return render_file(_WORKER_ATHLETE, *job)


def _render_all(athlete: SyntheticAthlete, jobs: list, workers: int | None):
    recorded = sum(1 for _, _, suffix in jobs if suffix)
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if recorded > 40 else 1
    if workers <= 1:
        return (render_file(athlete, *job) for job in jobs)
    # Spawned (not forked) workers: the caller may be a threaded process (Dagster, the server).
    pool = ProcessPoolExecutor(
        workers, mp_context=get_context("spawn"), initializer=_init_worker,
        initargs=(athlete.seed,),
    )  # fmt: skip

    def results():
        with pool:
            yield from pool.map(_render_in_worker, jobs, chunksize=4)

    return results()


def render_file(
    athlete: SyntheticAthlete, summary: dict, extras: dict, suffix: str | None
) -> tuple[bytes, dict] | None:
    """The original file's bytes and the stream statistics ``activities.csv`` needs."""
    if suffix is None:
        return None
    streams = athlete.streams(summary["id"])
    if streams is None:
        return None
    laps = athlete.laps(summary["id"]) or []
    stats = _stream_stats(streams)
    if suffix in (FIT, FIT_GZ):
        data = fit_file(athlete.seed, summary, extras, streams, laps, stats)
    elif suffix in (GPX, GPX_GZ):
        data = gpx_file(athlete.seed, summary, streams)
    else:
        data = tcx_file(summary, extras, streams, laps)
    if suffix.endswith(".gz"):
        data = gzip.compress(data, compresslevel=6, mtime=0)
    return data, stats


def _stream_stats(streams: dict) -> dict:
    """Numbers ``activities.csv`` has and the API summary lacks (elevation loss, grades, ...)."""
    out: dict = {}
    alt = streams.get("altitude")
    if alt:
        drops = -np.diff(np.asarray(alt, dtype=np.float64))
        out["elevation_loss"] = round(float(drops[drops > 0].sum()), 1)
        dist = streams["distance"][-1]
        out["average_grade"] = (alt[-1] - alt[0]) / dist * 100 if dist else 0.0
        out["max_grade"] = max(streams.get("grade_smooth") or [0.0])
    if "cadence" in streams:
        out["max_cadence"] = max(streams["cadence"])
    if "temp" in streams:
        out["max_temp"] = max(streams["temp"])
    return out


def _start(summary: dict) -> datetime:
    return datetime.strptime(summary["start_date"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _serial(seed: int, device: str) -> int:
    return rng_for(seed, "device-serial", device).randint(3_300_000_000, 3_999_999_999)


# ----- FIT -----------------------------------------------------------------------------------


def fit_file(
    seed: int, summary: dict, extras: dict, streams: dict, laps: list[dict], stats: dict
) -> bytes:
    """A Garmin-style FIT activity: file_id, device_info, timer events, 1 Hz records, laps,
    a session and the activity message, as a watch or head unit writes them."""
    start = int(_start(summary).timestamp())
    t0 = fit_time(start)
    seconds = np.asarray(streams["time"], dtype=np.int64)
    end = t0 + int(seconds[-1])
    device = extras.get("device_name") or "Garmin Forerunner 955"
    product = GARMIN_PRODUCTS.get(device, 4024)
    serial = _serial(seed, device)
    sport, sub_sport = (2, 6) if summary.get("trainer") else FIT_SPORT.get(summary["sport_type"],
                                                                           (0, 0))  # fmt: skip
    w = FitWriter()
    w.message("file_id", {"type": 4, "manufacturer": 1, "product": product,
                          "serial_number": serial, "time_created": t0})  # fmt: skip
    w.message("device_info", {"timestamp": t0, "device_index": 0, "manufacturer": 1,
                              "product": product, "serial_number": serial,
                              "software_version": 19.20})  # fmt: skip
    w.message("event", {"timestamp": t0, "event": 0, "event_type": 0})

    records: dict[str, object] = {"timestamp": t0 + seconds}
    if "latlng" in streams:
        latlng = np.asarray(streams["latlng"], dtype=np.float64)
        records["position_lat"] = np.rint(latlng[:, 0] * (2**31 / 180))
        records["position_long"] = np.rint(latlng[:, 1] * (2**31 / 180))
    records["distance"] = streams["distance"]
    records["enhanced_speed"] = streams["velocity_smooth"]
    if "altitude" in streams:
        records["enhanced_altitude"] = streams["altitude"]
    for key, fit_key in (("heartrate", "heart_rate"), ("cadence", "cadence"),
                         ("watts", "power"), ("temp", "temperature")):  # fmt: skip
        if key in streams:
            records[fit_key] = streams[key]
    w.messages("record", records)
    w.message("event", {"timestamp": end, "event": 0, "event_type": 4})

    latlng_stream = streams.get("latlng")
    for n, lap in enumerate(laps):
        a, b = lap["start_index"], lap["end_index"]
        values = {
            "timestamp": t0 + streams["time"][b], "start_time": t0 + streams["time"][a],
            "total_elapsed_time": lap["elapsed_time"], "total_timer_time": lap["elapsed_time"],
            "total_distance": lap["distance"], "enhanced_avg_speed": lap["average_speed"],
            "enhanced_max_speed": lap["max_speed"],
            "avg_heart_rate": _round(lap.get("average_heartrate")),
            "max_heart_rate": _round(lap.get("max_heartrate")),
            "avg_cadence": _round(lap.get("average_cadence")),
            "avg_power": _round(lap.get("average_watts")),
            "total_ascent": _round(lap.get("total_elevation_gain")),
            "event": 9, "event_type": 1, "message_index": n, "sport": sport,
            "lap_trigger": 7 if n == len(laps) - 1 else 2,
        }  # fmt: skip
        if latlng_stream:
            values["start_position_lat"] = semicircles(latlng_stream[a][0])
            values["start_position_long"] = semicircles(latlng_stream[a][1])
            values["end_position_lat"] = semicircles(latlng_stream[b][0])
            values["end_position_long"] = semicircles(latlng_stream[b][1])
        w.message("lap", values)

    session = {
        "timestamp": end, "start_time": t0, "sport": sport, "sub_sport": sub_sport,
        "total_elapsed_time": summary["elapsed_time"],
        "total_timer_time": summary["elapsed_time"], "total_distance": summary["distance"],
        "total_calories": _round(extras.get("calories")),
        "enhanced_avg_speed": summary["average_speed"],
        "enhanced_max_speed": summary["max_speed"],
        "avg_heart_rate": _round(summary.get("average_heartrate")),
        "max_heart_rate": _round(summary.get("max_heartrate")),
        "avg_cadence": _round(summary.get("average_cadence")),
        "max_cadence": stats.get("max_cadence"),
        "avg_power": _round(summary.get("average_watts")), "max_power": summary.get("max_watts"),
        "normalized_power": summary.get("weighted_average_watts"),
        "total_ascent": _round(summary.get("total_elevation_gain")),
        "total_descent": _round(stats.get("elevation_loss")),
        "avg_temperature": summary.get("average_temp"), "max_temperature": stats.get("max_temp"),
        "first_lap_index": 0, "num_laps": len(laps), "event": 8, "event_type": 1,
        "trigger": 0, "message_index": 0,
    }  # fmt: skip
    if latlng_stream:
        session["start_position_lat"] = semicircles(latlng_stream[0][0])
        session["start_position_long"] = semicircles(latlng_stream[0][1])
    w.message("session", session)
    w.message("activity", {"timestamp": end, "total_timer_time": summary["elapsed_time"],
                           "num_sessions": 1, "type": 0, "event": 26, "event_type": 1,
                           "local_timestamp": end + int(summary["utc_offset"])})  # fmt: skip
    return w.finish()


def _round(value: float | None) -> int | None:
    return None if value is None else math.floor(value + 0.5)


# ----- GPX and TCX ---------------------------------------------------------------------------


def _iso_times(start: int, seconds: list[int], millis: bool = False) -> list[str]:
    form = "%Y-%m-%dT%H:%M:%S.000Z" if millis else "%Y-%m-%dT%H:%M:%SZ"
    return [_time.strftime(form, _time.gmtime(start + s)) for s in seconds]


def gpx_file(seed: int, summary: dict, streams: dict) -> bytes:
    """A Strava app recording: GPX 1.1 with Garmin's TrackPointExtension (atemp, hr, cad)."""
    start = int(_start(summary).timestamp())
    phone = rng_for(seed, "phone").choice(("iPhone", "Android"))
    times = _iso_times(start, streams["time"])
    latlng, alt = streams["latlng"], streams.get("altitude")
    channels = [
        (tag, streams[key])
        for tag, key in (("atemp", "temp"), ("hr", "heartrate"), ("cad", "cadence"))
        if key in streams
    ]
    points = []
    for i, (lat, lng) in enumerate(latlng):
        ele = f"    <ele>{alt[i]:.1f}</ele>\n" if alt else ""
        ext = ""
        if channels:
            inner = "".join(f"      <gpxtpx:{t}>{v[i]}</gpxtpx:{t}>\n" for t, v in channels)
            ext = (
                "    <extensions>\n     <gpxtpx:TrackPointExtension>\n"
                f"{inner}     </gpxtpx:TrackPointExtension>\n    </extensions>\n"
            )
        points.append(
            f'   <trkpt lat="{lat:.7f}" lon="{lng:.7f}">\n{ele}    <time>{times[i]}</time>\n'
            f"{ext}   </trkpt>\n"
        )
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<gpx creator="StravaGPX {phone}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.topografix.com/GPX/1/1 '
        "http://www.topografix.com/GPX/1/1/gpx.xsd "
        "http://www.garmin.com/xmlschemas/GpxExtensions/v3 "
        "http://www.garmin.com/xmlschemas/GpxExtensionsv3.xsd "
        "http://www.garmin.com/xmlschemas/TrackPointExtension/v1 "
        'http://www.garmin.com/xmlschemas/TrackPointExtensionv1.xsd" version="1.1" '
        'xmlns="http://www.topografix.com/GPX/1/1" '
        'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1" '
        'xmlns:gpxx="http://www.garmin.com/xmlschemas/GpxExtensions/v3">\n'
        f" <metadata>\n  <time>{times[0]}</time>\n </metadata>\n"
        f" <trk>\n  <name>{escape(summary['name'])}</name>\n"
        f"  <type>{GPX_TYPE.get(summary['sport_type'], 'other')}</type>\n  <trkseg>\n"
    )
    return (head + "".join(points) + "  </trkseg>\n </trk>\n</gpx>\n").encode()


def tcx_file(summary: dict, extras: dict, streams: dict, laps: list[dict]) -> bytes:
    """A TCX as services upload them, with Laps, HeartRateBpm, Cadence and ns3:TPX
    Speed/Watts, and the leading whitespace before ``<?xml`` that Strava's TCX files have."""
    start = int(_start(summary).timestamp())
    times = _iso_times(start, streams["time"], millis=True)
    laps = laps or [{"start_index": 0, "end_index": len(times) - 1,
                     "elapsed_time": summary["elapsed_time"], "distance": summary["distance"],
                     "max_speed": summary["max_speed"]}]  # fmt: skip
    calories = extras.get("calories") or 0.0
    latlng, alt = streams.get("latlng"), streams.get("altitude")
    hr, cad, dist = streams.get("heartrate"), streams.get("cadence"), streams["distance"]
    speed, watts = streams["velocity_smooth"], streams.get("watts")
    sport = TCX_SPORT.get(summary["sport_type"], "Other")
    parts = [
        "          " + '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<TrainingCenterDatabase xsi:schemaLocation="http://www.garmin.com/xmlschemas/'
        "TrainingCenterDatabase/v2 http://www.garmin.com/xmlschemas/TrainingCenterDatabasev2.xsd"
        '" xmlns:ns5="http://www.garmin.com/xmlschemas/ActivityGoals/v1" '
        'xmlns:ns3="http://www.garmin.com/xmlschemas/ActivityExtension/v2" '
        'xmlns:ns2="http://www.garmin.com/xmlschemas/UserProfile/v2" '
        'xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
        f" <Activities>\n  <Activity Sport={quoteattr(sport)}>\n"
        f"   <Id>{times[0]}</Id>\n"
    ]
    for n, lap in enumerate(laps):
        a, b = lap["start_index"], lap["end_index"]
        share = lap["elapsed_time"] / summary["elapsed_time"] if summary["elapsed_time"] else 1
        parts.append(
            f'   <Lap StartTime="{times[a]}">\n'
            f"    <TotalTimeSeconds>{float(lap['elapsed_time'])}</TotalTimeSeconds>\n"
            f"    <DistanceMeters>{lap['distance']}</DistanceMeters>\n"
            f"    <MaximumSpeed>{lap['max_speed']}</MaximumSpeed>\n"
            f"    <Calories>{round(calories * share)}</Calories>\n"
        )
        if "average_heartrate" in lap:
            parts.append(
                f"    <AverageHeartRateBpm><Value>{_round(lap['average_heartrate'])}</Value>"
                "</AverageHeartRateBpm>\n"
                f"    <MaximumHeartRateBpm><Value>{_round(lap['max_heartrate'])}</Value>"
                "</MaximumHeartRateBpm>\n"
            )
        parts.append("    <Intensity>Active</Intensity>\n")
        if lap.get("average_cadence") is not None:
            parts.append(f"    <Cadence>{_round(lap['average_cadence'])}</Cadence>\n")
        trigger = "Manual" if len(laps) == 1 else "Distance"
        parts.append(f"    <TriggerMethod>{trigger}</TriggerMethod>\n    <Track>\n")
        for i in range(a if n == 0 else a + 1, b + 1):
            point = [f"     <Trackpoint>\n      <Time>{times[i]}</Time>\n"]
            if latlng:
                point.append(
                    f"      <Position>\n       <LatitudeDegrees>{latlng[i][0]}</LatitudeDegrees>\n"
                    f"       <LongitudeDegrees>{latlng[i][1]}</LongitudeDegrees>\n"
                    "      </Position>\n"
                )
            if alt:
                point.append(f"      <AltitudeMeters>{alt[i]}</AltitudeMeters>\n")
            point.append(f"      <DistanceMeters>{dist[i]}</DistanceMeters>\n")
            if hr:
                point.append(f"      <HeartRateBpm><Value>{hr[i]}</Value></HeartRateBpm>\n")
            if cad:
                point.append(f"      <Cadence>{cad[i]}</Cadence>\n")
            point.append(f"      <Extensions>\n       <ns3:TPX>\n"
                         f"        <ns3:Speed>{speed[i]}</ns3:Speed>\n")  # fmt: skip
            if watts:
                point.append(f"        <ns3:Watts>{watts[i]}</ns3:Watts>\n")
            point.append("       </ns3:TPX>\n      </Extensions>\n     </Trackpoint>\n")
            parts.append("".join(point))
        parts.append("    </Track>\n   </Lap>\n")
    device = escape(extras.get("device_name") or "")
    parts.append(
        f'   <Creator xsi:type="Device_t">\n    <Name>{device}</Name>\n   </Creator>\n'
        "  </Activity>\n </Activities>\n</TrainingCenterDatabase>\n"
    )
    return "".join(parts).encode()


# ----- CSV -----------------------------------------------------------------------------------


def _f32(value: float) -> str:
    """A float as Strava's export prints it: the float32 value in full (18962.80078125)."""
    return repr(struct.unpack("<f", struct.pack("<f", value))[0])


def _num(value: float | None) -> str:
    return "" if value is None else _f32(float(value))


def _activity_row(
    athlete: SyntheticAthlete,
    s: dict,
    extras: dict,
    stats: dict,
    filename: str,
    locale: ExportLocale,
) -> list[str]:
    """One ``activities.csv`` row: every column the emulator knows, the rest left empty."""
    row = [""] * len(locale.columns)
    gear = athlete.gear_by_id(s["gear_id"]) if s.get("gear_id") else None

    def display(value: float, digits: int) -> str:
        return f"{value:.{digits}f}".replace(".", locale.decimal_separator)

    rng = rng_for(athlete.seed, "private-note", s["id"])
    note = rng.choice(PRIVATE_NOTES) if rng.random() < 0.12 else ""
    elapsed, moving = s["elapsed_time"], s["moving_time"]
    outdoor = not s.get("trainer") and bool(s.get("start_latlng"))
    values: dict[int, str] = {
        0: str(s["id"]),
        1: locale.format_date(_start(s)),
        2: s["name"],
        3: locale.sport_names.get(s["sport_type"], s["sport_type"]),
        4: extras.get("description") or "",
        5: str(elapsed),
        6: display(s["distance"] / 1000, 2),
        7: _num(s.get("max_heartrate")),
        8: _num(s.get("suffer_score")),
        9: "true" if s["commute"] else "false",
        10: note,
        11: gear.name if gear else "",
        12: filename,
        13: display(athlete.weight, 1),
        14: display(gear.weight, 1) if gear and gear.weight else "",
        15: _num(elapsed),
        16: _num(moving),
        17: _num(s["distance"]),
        18: _num(s["max_speed"]),
        19: _num(s["average_speed"]),
        20: _num(s["total_elevation_gain"]),
        21: _num(stats.get("elevation_loss")),
        22: _num(s.get("elev_low")),
        23: _num(s.get("elev_high")),
        24: _num(stats.get("max_grade")),
        25: _num(stats.get("average_grade")),
        28: _num(stats.get("max_cadence")),
        29: _num(s.get("average_cadence")),
        30: _num(s.get("max_heartrate")),
        31: _num(s.get("average_heartrate")),
        32: _num(s.get("max_watts")),
        33: _num(s.get("average_watts")),
        34: _num(extras.get("calories")),
        35: _num(stats.get("max_temp")),
        36: _num(s.get("average_temp")),
        37: _num(s.get("suffer_score")),
        38: _num(s["kilojoules"] * 1000) if s.get("kilojoules") else "",
        43: _num(extras.get("perceived_exertion")),
        46: _num(s.get("weighted_average_watts")),
        48: "0.0",
        50: "1.0" if s["commute"] else "0.0",
        52: "0.0" if s["manual"] else "1.0",
        56: _num(s.get("average_temp")) if outdoor else "",
        # The numeric part of the gear id as a (double) float: b8939761 -> 8939761.0.
        68: repr(float(gear.id[1:])) if gear and gear.is_bike else "",
        69: repr(float(gear.id[1:])) if gear and not gear.is_bike else "",
        80: _num(s["distance"] / elapsed) if elapsed else "",  # Average Elapsed Speed
    }
    for position, value in values.items():
        row[position] = value
    return row


def _gear_row(gear, default_sport: str) -> list[str]:
    return [gear.name, gear.brand_name, gear.model_name, default_sport if gear.primary else ""]


def _csv(header: tuple[str, ...], rows: list[list[str]]) -> str:
    """CSV as Strava writes it: quotes only where needed (and on a few columns always),
    doubled quotes inside, ``\\n`` line ends."""

    def cell(position: int, value: str) -> str:
        if position in always or any(c in value for c in ',"\n\r'):
            return '"' + value.replace('"', '""') + '"'
        return value

    always = ALWAYS_QUOTED if len(header) > max(ALWAYS_QUOTED) else frozenset()
    lines = [",".join(header)]
    for row in rows:
        lines.append(",".join(cell(p, v) if v or p in always else "" for p, v in enumerate(row)))
    return "\n".join(lines) + "\n"


# ----- where the files go --------------------------------------------------------------------


class _ZipSink:
    """Members at the top level, in a fixed order with a fixed timestamp (byte-identical
    archives); gzip members are stored, the rest deflated."""

    def __init__(self, path: Path, export_day: date) -> None:
        self.path = path
        self._tmp = path.with_name(path.name + ".partial")
        when = export_day + timedelta(days=1)
        self._date_time = (when.year, when.month, when.day, 6, 0, 0)
        self._zip: zipfile.ZipFile | None = None

    def __enter__(self) -> _ZipSink:
        self._zip = zipfile.ZipFile(self._tmp, "w")
        return self

    def add(self, name: str, data: bytes) -> None:
        info = zipfile.ZipInfo(name, date_time=self._date_time)
        info.compress_type = zipfile.ZIP_STORED if name.endswith(".gz") else zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        assert self._zip is not None
        self._zip.writestr(info, data)

    def __exit__(self, exc_type, *rest) -> None:
        assert self._zip is not None
        self._zip.close()
        if exc_type is None:
            os.replace(self._tmp, self.path)  # a reader never sees half an archive
        else:
            self._tmp.unlink(missing_ok=True)

    def size(self) -> int:
        return self.path.stat().st_size


class _DirSink:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._bytes = 0

    def __enter__(self) -> _DirSink:
        (self.path / "activities").mkdir(parents=True, exist_ok=True)
        return self

    def add(self, name: str, data: bytes) -> None:
        (self.path / name).write_bytes(data)
        self._bytes += len(data)

    def __exit__(self, *exc) -> None:
        return None

    def size(self) -> int:
        return self._bytes
