"""What Strava's API detail gives and an activity file does not, computed from the samples.

Every function takes the samples as an Arrow table (the `samples` of a `ParsedActivity`) or a
mapping of column name to numpy array, and works on whole columns (no loop per sample).

Rules (the project's, chosen to be close to Strava's published behaviour; how far they are from
Strava's own numbers is measured on activities that have both):

- **Moving.** A sample is moving when the speed over the interval that ends at it, distance
  gained over time passed, is at least `MOVING_SPEED` (0.5 m/s, 1.8 km/h: slower than a walk on
  the flat, faster than GPS drift while standing; a steep hike's climbs can be slower, see
  docs/file-import.md). The first sample is not moving. A device pause needs
  no rule of its own: an auto-paused FIT file has a gap in its timestamps with (almost) no
  distance gained, so the interval over the gap is below the threshold and not counted, while
  a gap with real distance (a tunnel without GPS) counts. Without distance the device speed
  is used; with no speed at all (an indoor session without a speed sensor) a sample with
  cadence or power above 0 is moving. `moving_time` is the sum of the moving intervals'
  durations.
- **Elevation gain.** The altitude is put on a 1-second grid (linear between samples), smoothed
  with a centred moving average over `ELEVATION_WINDOW_S` (15 s), taken every 5 s, and climbs
  are summed with a hysteresis of `ELEVATION_THRESHOLD_M` (1 m): a rise counts once the curve
  is 1 m above its last low, and a climb ends once it falls 1 m below its high. Smoothing and
  the threshold together keep the ±0.5 m jitter of barometric (and the larger jitter of GPS)
  altitude from counting as climbing on flat ground, which raw sums do by hundreds of metres.
- **Grade.** Percent rise over distance between the samples two before and two after, on
  altitude smoothed over five samples; 0 where less than 1 m is covered.
- **Splits.** Boundaries every 1000 m (metric) or 1609.344 m (standard) of the distance column;
  the time a boundary was crossed is interpolated between the two samples around it. The last,
  partial split is included, as Strava does. `average_speed` is distance over moving time.
- **Best efforts.** For each of Strava's distances the activity covers, the shortest time over
  any stretch of that distance: every sample is tried as the end, and the start is the
  interpolated moment the distance was that much lower.
- **Route.** The start and end are the first and last samples with a position. The summary
  polyline (Strava's `map.summary_polyline`, for maps of many activities) keeps every k-th
  position, at most `SUMMARY_POINTS` and always the last one, encoded as Strava encodes it;
  the activity page draws the whole track from the samples.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from strava_datastack.contract import FILES_TABLES
from strava_datastack.strava.polyline import encode

MOVING_SPEED = 0.5  # m/s
ELEVATION_WINDOW_S = 15
ELEVATION_STEP_S = 5
ELEVATION_THRESHOLD_M = 1.0
EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)
SUMMARY_POINTS = 200  # positions in a summary polyline: a route's shape, not its detail

SPLIT_UNITS = {"metric": 1000.0, "standard": 1609.344}

# Strava's best-effort names and distances (metres), shortest first.
BEST_EFFORT_DISTANCES = {
    "400m": 400.0,
    "1/2 mile": 804.672,
    "1K": 1000.0,
    "1 mile": 1609.344,
    "2 mile": 3218.688,
    "5K": 5000.0,
    "10K": 10000.0,
    "15K": 15000.0,
    "10 mile": 16093.44,
    "20K": 20000.0,
    "Half-Marathon": 21097.5,
    "30K": 30000.0,
    "Marathon": 42195.0,
}

# The contract's files tables without `activity_id`: the load adds it once it knows the id.
SPLIT_SCHEMA = FILES_TABLES["activity_splits"].arrow_schema(without=("activity_id",))
BEST_EFFORT_SCHEMA = FILES_TABLES["activity_best_efforts"].arrow_schema(without=("activity_id",))

Samples = pa.Table | Mapping[str, Any]


def _column(samples: Samples, name: str) -> np.ndarray:
    """A column as float64 with NaN for nulls (or all NaN if absent)."""
    if isinstance(samples, pa.Table):
        if name not in samples.column_names:
            return np.full(samples.num_rows, np.nan)
        column = samples.column(name)
        if pa.types.is_boolean(column.type):
            return column.to_numpy(zero_copy_only=False).astype(np.float64)
        return column.cast(pa.float64()).to_numpy(zero_copy_only=False)
    values = samples.get(name)
    if values is None:
        length = len(next(iter(samples.values())))
        return np.full(length, np.nan)
    return np.asarray(values, dtype=np.float64)


def _filled(values: np.ndarray) -> np.ndarray:
    """NaNs replaced by the last known value (the first known one before it)."""
    known = ~np.isnan(values)
    if not known.any():
        return values
    index = np.where(known, np.arange(len(values)), 0)
    np.maximum.accumulate(index, out=index)
    filled = values[index]
    filled[: np.argmax(known)] = values[np.argmax(known)]
    return filled


def distance_from_positions(lat: np.ndarray, lng: np.ndarray) -> np.ndarray:
    """Cumulative great-circle distance (haversine, metres); positionless samples add nothing."""
    lat, lng = _filled(np.radians(lat)), _filled(np.radians(lng))
    if np.isnan(lat).all():
        return np.full(len(lat), np.nan)
    dlat, dlng = np.diff(lat), np.diff(lng)
    a = np.sin(dlat / 2) ** 2 + np.cos(lat[:-1]) * np.cos(lat[1:]) * np.sin(dlng / 2) ** 2
    step = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0, 1)))
    return np.concatenate([[0.0], np.cumsum(step)])


def route_summary(samples: Samples) -> dict[str, Any]:
    """The `files.activities` columns of the route: start, end and summary polyline (all None
    for an activity without positions)."""
    lat, lng = _column(samples, "lat"), _column(samples, "lng")
    known = ~(np.isnan(lat) | np.isnan(lng))
    if not known.any():
        return dict.fromkeys(ROUTE_COLUMNS)
    lat, lng = lat[known], lng[known]
    step = -(-len(lat) // SUMMARY_POINTS)  # ceiling division
    kept = np.append(np.arange(0, len(lat) - 1, step), len(lat) - 1)
    return {
        "start_lat": float(lat[0]),
        "start_lng": float(lng[0]),
        "end_lat": float(lat[-1]),
        "end_lng": float(lng[-1]),
        "summary_polyline": encode(zip(lat[kept].tolist(), lng[kept].tolist(), strict=True)),
    }


ROUTE_COLUMNS = ("start_lat", "start_lng", "end_lat", "end_lng", "summary_polyline")


def speed_from_distance(time: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """Speed (m/s) over the interval ending at each sample; the first sample copies the second."""
    distance = _filled(distance)
    dt = np.diff(time)
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = np.where(dt > 0, np.diff(distance) / dt, np.nan)
    speed = _filled(np.concatenate([[np.nan], speed]))
    return speed


def _interval_speed(samples: Samples) -> tuple[np.ndarray, np.ndarray]:
    """(duration, speed) of the interval ending at each sample; the first has duration 0."""
    time = _column(samples, "time")
    dt = np.concatenate([[0.0], np.diff(time)])
    distance = _column(samples, "distance")
    if np.isnan(distance).all():
        speed = _column(samples, "velocity_smooth")
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            speed = np.concatenate([[np.nan], np.diff(_filled(distance)) / dt[1:]])
    return dt, speed


def moving_mask(samples: Samples) -> np.ndarray:
    """Boolean per sample: moving by the speed threshold (see the module docstring)."""
    dt, speed = _interval_speed(samples)
    if not (np.nan_to_num(speed) > 0).any():
        # Indoors without a speed sensor: pedalling or rowing is moving.
        cadence = np.nan_to_num(_column(samples, "cadence"))
        watts = np.nan_to_num(_column(samples, "watts"))
        return (dt > 0) & ((cadence > 0) | (watts > 0))
    with np.errstate(invalid="ignore"):
        moving = (dt > 0) & (speed >= MOVING_SPEED)
    return moving


def moving_time(samples: Samples) -> int:
    """Seconds spent moving."""
    dt, _ = _interval_speed(samples)
    return int(round(float(dt[moving_mask(samples)].sum())))


def elevation_gain(samples: Samples) -> float:
    """Metres climbed by the smoothed altitude (see the module docstring); 0.0 without altitude."""
    time, altitude = _column(samples, "time"), _column(samples, "altitude")
    known = ~np.isnan(altitude) & ~np.isnan(time)
    if known.sum() < 2:
        return 0.0
    time, altitude = time[known], altitude[known]
    grid = np.arange(time[0], time[-1] + 1.0, 1.0)
    on_grid = np.interp(grid, time, altitude)
    window = min(ELEVATION_WINDOW_S, len(on_grid))
    kernel = np.ones(window) / window
    # Edges padded with the end values so the average does not sag towards zero there.
    padded = np.concatenate(
        [np.full(window // 2, on_grid[0]), on_grid, np.full(window - 1 - window // 2, on_grid[-1])]
    )
    smooth = np.convolve(padded, kernel, mode="valid")[::ELEVATION_STEP_S]
    # Hysteresis: a climb starts once the curve is ELEVATION_THRESHOLD_M above its lowest point
    # and ends once it falls that far below its highest; inherently sequential, so this loops,
    # but over the smoothed curve taken every ELEVATION_STEP_S seconds (720 steps an hour).
    gain, reference, climbing = 0.0, float(smooth[0]), False
    for value in smooth.tolist():
        if climbing:
            if value > reference:
                gain += value - reference
                reference = value
            elif value < reference - ELEVATION_THRESHOLD_M:
                climbing, reference = False, value
        elif value < reference:
            reference = value
        elif value >= reference + ELEVATION_THRESHOLD_M:
            gain += value - reference
            climbing, reference = True, value
    return gain


def grade_smooth(samples: Samples) -> np.ndarray:
    """Grade in percent per sample (see the module docstring); NaN without altitude or distance."""
    altitude, distance = _column(samples, "altitude"), _column(samples, "distance")
    n = len(altitude)
    if n < 5 or np.isnan(altitude).all() or np.isnan(distance).all():
        return np.full(n, np.nan)
    altitude = np.convolve(np.pad(_filled(altitude), 2, mode="edge"), np.ones(5) / 5, mode="valid")
    distance = _filled(distance)
    ahead = np.minimum(np.arange(n) + 2, n - 1)
    behind = np.maximum(np.arange(n) - 2, 0)
    run = distance[ahead] - distance[behind]
    with np.errstate(divide="ignore", invalid="ignore"):
        grade = np.where(run >= 1.0, 100 * (altitude[ahead] - altitude[behind]) / run, 0.0)
    return np.round(grade, 1)


def _crossings(distance: np.ndarray, values: np.ndarray, marks: np.ndarray) -> np.ndarray:
    """`values` interpolated at the first moment `distance` (non-decreasing) reaches each mark."""
    after = np.clip(np.searchsorted(distance, marks, "left"), 1, len(distance) - 1)
    before = after - 1
    span = distance[after] - distance[before]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(span > 0, (marks - distance[before]) / span, 1.0)
    share = np.clip(share, 0.0, 1.0)
    return values[before] + share * (values[after] - values[before])


def _track(samples: Samples) -> dict[str, np.ndarray] | None:
    """Time, non-decreasing distance and cumulative moving time, or None without distance."""
    distance = _column(samples, "distance")
    if np.isnan(distance).all():
        return None
    time = _column(samples, "time")
    dt, _ = _interval_speed(samples)
    moving = np.cumsum(np.where(moving_mask(samples), dt, 0.0))
    return {
        "time": time,
        "distance": np.maximum.accumulate(_filled(distance)),
        "moving": moving,
    }


def splits(samples: Samples, units: Literal["metric", "standard"] = "metric") -> pa.Table:
    """Strava's splits_metric / splits_standard rows (SPLIT_COLUMNS without activity_id)."""
    size = SPLIT_UNITS[units]
    track = _track(samples)
    empty = pa.Table.from_pylist([], schema=SPLIT_SCHEMA)
    if track is None or track["distance"][-1] <= track["distance"][0]:
        return empty
    distance = track["distance"]
    total = distance[-1]
    marks = np.arange(distance[0], total, size)[1:]
    marks = np.concatenate([[distance[0]], marks, [total]])
    at_time = _crossings(distance, track["time"], marks)
    at_moving = _crossings(distance, track["moving"], marks)
    altitude = _column(samples, "altitude")
    at_altitude = (
        _crossings(distance, _filled(altitude), marks) if not np.isnan(altitude).all() else None
    )
    heartrate = _column(samples, "heartrate")
    bounds = np.searchsorted(distance, marks, "left")
    lengths = np.diff(marks)
    elapsed = np.diff(at_time)
    moving = np.diff(at_moving)
    rows = []
    for number in range(len(lengths)):
        hr = heartrate[bounds[number] : max(bounds[number + 1], bounds[number] + 1)]
        hr = hr[~np.isnan(hr)]
        rows.append(
            {
                "units": units,
                "split": number + 1,
                "distance": float(lengths[number]),
                "elapsed_time": int(round(elapsed[number])),
                "moving_time": int(round(moving[number])),
                "elevation_difference": (
                    None
                    if at_altitude is None
                    else round(float(at_altitude[number + 1] - at_altitude[number]), 1)
                ),
                "average_speed": (
                    float(lengths[number] / moving[number]) if moving[number] > 0 else 0.0
                ),
                "average_grade_adjusted_speed": None,  # Strava's model is not published
                "average_heartrate": float(hr.mean()) if len(hr) else None,
                "pace_zone": None,
            }
        )
    return pa.Table.from_pylist(rows, schema=SPLIT_SCHEMA)


def best_efforts(samples: Samples) -> pa.Table:
    """Fastest time over each of Strava's best-effort distances the activity covers."""
    track = _track(samples)
    rows = []
    if track is not None:
        time, distance, moving = track["time"], track["distance"], track["moving"]
        covered = distance[-1] - distance[0]
        for name, length in BEST_EFFORT_DISTANCES.items():
            if covered < length:
                break
            ends = np.nonzero(distance - distance[0] >= length)[0]
            starts_at = distance[ends] - length
            # The latest moment the distance was `length` lower: last sample at or below it.
            before = np.clip(np.searchsorted(distance, starts_at, "right") - 1, 0, len(time) - 2)
            after = before + 1
            span = distance[after] - distance[before]
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.clip(
                    np.where(span > 0, (starts_at - distance[before]) / span, 0.0), 0.0, 1.0
                )
            start_time = time[before] + share * (time[after] - time[before])
            start_moving = moving[before] + share * (moving[after] - moving[before])
            durations = time[ends] - start_time
            best = int(np.argmin(durations))
            rows.append(
                {
                    "name": name,
                    "distance": length,
                    "elapsed_time": int(round(durations[best])),
                    "moving_time": int(round(moving[ends[best]] - start_moving[best])),
                    "start_index": int(before[best]),
                    "end_index": int(ends[best]),
                }
            )
    return pa.Table.from_pylist(rows, schema=BEST_EFFORT_SCHEMA)
