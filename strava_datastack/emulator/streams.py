"""Expand a plan into Strava's 1 Hz streams."""

from __future__ import annotations

import math

import numpy as np

from .plan import Plan

STREAM_KEYS = (
    "time",
    "distance",
    "latlng",
    "altitude",
    "velocity_smooth",
    "heartrate",
    "cadence",
    "watts",
    "temp",
    "moving",
    "grade_smooth",
)


def expand(plan: Plan) -> dict[str, list]:
    """All streams the activity's sensors recorded, keyed by Strava stream type.

    Sample by sample the values are ``lin`` between the plan's control points, computed on numpy
    arrays with the same float operations in the same order (so bit-identical to a per-sample
    loop), which makes a 5-year export archive (~6.6 million samples) affordable.

    Returns:
        Lists of equal length (``plan.samples``: a recording gap has no samples, so ``time``
        jumps across it); types a recording lacks are absent, as in Strava's response where
        missing streams are simply omitted.
    """
    spec, full = plan.spec, plan.elapsed + 1  # every second, recording gaps included
    xs = np.asarray(plan.xs, dtype=np.int64)
    lengths = np.diff(xs)
    cell = np.repeat(np.arange(len(lengths)), lengths)  # the cell of samples 0 .. E-1
    offset = np.arange(full - 1) - xs[:-1][cell]
    length = lengths[cell]
    moving_cell = np.asarray(plan.moving, dtype=bool)[cell]
    # the samples the device recorded: all but those inside a gap (auto-pause)
    kept = np.append(~np.asarray(plan.gap, dtype=bool)[cell], True)

    def lin_samples(values) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64)
        y0, y1 = v[cell], v[cell + 1]
        return y0 + (y1 - y0) * offset / length  # as ``lin``: y0 + (y1 - y0) * j / length

    moving_full = np.append(moving_cell, True)
    velocity = np.append(np.where(moving_cell, lin_samples(plan.speed), 0.0), plan.speed[-1])
    distance_raw = np.cumsum(velocity)[kept]  # sequential, like ``total += v``
    distance = _round(distance_raw, 1)
    distance[-1] = round(spec.distance, 1)  # exact by construction; guard float drift
    moving = moving_full[kept]

    out: dict[str, list] = {"time": np.flatnonzero(kept).tolist(), "distance": distance}

    def interpolate_int(values, moving_only: bool) -> np.ndarray:
        ints = np.floor(lin_samples(values) + 0.5)
        if moving_only:
            ints = np.where(moving_cell, ints, 0.0)
        return np.append(ints, math.floor(values[-1] + 0.5)).astype(np.int64)[kept]

    altitude = None
    if plan.alt_dm is not None:
        altitude = interpolate_int(plan.alt_dm, moving_only=False) / 10
        out["altitude"] = altitude.tolist()
    if plan.knots is not None:
        out["latlng"] = _latlng(plan.knots, distance_raw, spec.distance)
    out["velocity_smooth"] = _round(velocity[kept], 3)
    moving_indices = np.flatnonzero(moving).tolist()
    n = len(moving)
    if plan.hr is not None:
        hr = interpolate_int(plan.hr, moving_only=False).tolist()
        _enforce_sum(hr, plan.hr_sum, range(n), low=40)
        out["heartrate"] = hr
    if plan.cadence is not None:
        cad = interpolate_int(plan.cadence, moving_only=True).tolist()
        _enforce_sum(cad, plan.cadence_sum, moving_indices, low=0)
        out["cadence"] = cad
    if plan.watts is not None:
        watts = interpolate_int(plan.watts, moving_only=True).tolist()
        _enforce_sum(watts, plan.watts_sum, moving_indices, low=0)
        out["watts"] = watts
    if spec.sensors.temp:
        out["temp"] = [spec.temp] * n
    out["moving"] = moving.tolist()
    if altitude is not None:
        out["grade_smooth"] = _grade(altitude, distance_raw)
    return {key: out[key] for key in STREAM_KEYS if key in out}


def _round(values: np.ndarray, digits: int) -> list[float]:
    """``[round(v, digits) for v in values]`` without a Python call per value."""
    return _round_array(values, digits).tolist()


def _round_array(values: np.ndarray, digits: int) -> np.ndarray:
    """Python's ``round(v, digits)`` of every value, as an array.

    ``round`` rounds the exact binary value half-to-even; scaling first (``v * 10**digits``)
    can move a value that lies within an ulp of a half to the other side, so those few values
    are left to ``round`` itself. Elsewhere ``rint(scaled) / 10**digits`` is the same double.
    """
    scale = 10.0**digits
    scaled = values * scale
    out = np.rint(scaled) / scale
    near_half = np.abs(scaled - np.floor(scaled) - 0.5) <= 2 * np.spacing(np.abs(scaled))
    for i in np.flatnonzero(near_half).tolist():
        out[i] = round(float(values[i]), digits)
    return out


def _enforce_sum(values: list[int], target: int, eligible, low: int) -> None:
    """Nudge samples by +-1 until ``sum(values) == target`` without moving the maximum.

    Rounding each interpolated sample drifts the sum by a few units from the plan's exact
    (closed-form) sum; spreading +-1 corrections evenly keeps the curve's look while making the
    stream mean equal the summary's average and its peak equal the summary's maximum.
    """
    eligible = list(eligible)
    if not eligible:
        return
    peak = max(values)
    protected = values.index(peak)
    diff = target - sum(values)
    while diff:
        step = 1 if diff > 0 else -1
        stride = max(1, len(eligible) // abs(diff))
        changed = 0
        for i in eligible[::stride]:
            if i == protected:
                continue
            new = values[i] + step
            if new > peak or new < low:
                continue
            values[i] = new
            diff -= step
            changed += 1
            if not diff:
                break
        if not changed:
            break  # cannot happen for plans built by build_plan; avoid spinning forever


def _latlng(knots, distance_raw: np.ndarray, total: float) -> list[list[float]]:
    count = len(knots) - 1
    points = np.asarray(knots, dtype=np.float64)
    f = distance_raw / total * count
    idx = f.astype(np.int64)  # int() of a non-negative value
    beyond = idx >= count
    safe = np.where(beyond, 0, idx)
    t = f - idx
    a, b = points[safe], points[safe + 1]
    out = np.column_stack(
        (
            _round_array(a[:, 0] + (b[:, 0] - a[:, 0]) * t, 6),
            _round_array(a[:, 1] + (b[:, 1] - a[:, 1]) * t, 6),
        )
    )
    out[beyond] = [round(knots[-1][0], 6), round(knots[-1][1], 6)]
    out[0] = [round(knots[0][0], 6), round(knots[0][1], 6)]
    return out.tolist()


def _grade(altitude: np.ndarray, distance: np.ndarray, window: int = 10) -> list[float]:
    n = len(altitude)
    i = np.arange(n)
    a, b = np.maximum(0, i - window), np.minimum(n - 1, i + window)
    run = distance[b] - distance[a]
    steep = run > 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        grade = (altitude[b] - altitude[a]) / run * 100
    return _round_array(np.where(steep, grade, 0.0), 1).tolist()
