"""Expand a plan into Strava's 1 Hz streams."""

from __future__ import annotations

import math

from .plan import Plan, lin

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

    Returns:
        Lists of equal length (``plan.samples``); types a recording lacks are absent, as in
        Strava's response where missing streams are simply omitted.
    """
    spec, xs, moving_cells = plan.spec, plan.xs, plan.moving
    n = plan.samples
    cells = [
        (xs[k], xs[k + 1] - xs[k], moving_cells[k], k) for k in range(len(xs) - 1)
    ]  # (start, length, moving, index)

    moving = [False] * n
    velocity = [0.0] * n
    for start, length, is_moving, k in cells:
        if is_moving:
            y0, y1 = plan.speed[k], plan.speed[k + 1]
            moving[start : start + length] = [True] * length
            velocity[start : start + length] = [lin(y0, y1, j, length) for j in range(length)]
    moving[-1] = True
    velocity[-1] = plan.speed[-1]

    distance_raw, total = [0.0] * n, 0.0
    for i, v in enumerate(velocity):
        total += v
        distance_raw[i] = total
    distance = [round(d, 1) for d in distance_raw]
    distance[-1] = round(spec.distance, 1)  # exact by construction; guard float drift

    out: dict[str, list] = {"time": list(range(n)), "distance": distance}

    if plan.alt_dm is not None:
        alt_dm = _interpolate_int(plan.alt_dm, cells, n, moving_only=False)
        altitude = [a / 10 for a in alt_dm]
        out["altitude"] = altitude
    if plan.knots is not None:
        out["latlng"] = _latlng(plan.knots, distance_raw, spec.distance)
    out["velocity_smooth"] = [round(v, 3) for v in velocity]
    if plan.hr is not None:
        hr = _interpolate_int(plan.hr, cells, n, moving_only=False)
        _enforce_sum(hr, plan.hr_sum, range(n), low=40)
        out["heartrate"] = hr
    if plan.cadence is not None:
        cad = _interpolate_int(plan.cadence, cells, n, moving_only=True)
        _enforce_sum(cad, plan.cadence_sum, [i for i in range(n) if moving[i]], low=0)
        out["cadence"] = cad
    if plan.watts is not None:
        watts = _interpolate_int(plan.watts, cells, n, moving_only=True)
        _enforce_sum(watts, plan.watts_sum, [i for i in range(n) if moving[i]], low=0)
        out["watts"] = watts
    if spec.sensors.temp:
        out["temp"] = [spec.temp] * n
    out["moving"] = moving
    if plan.alt_dm is not None:
        out["grade_smooth"] = _grade(out["altitude"], distance_raw)
    return {key: out[key] for key in STREAM_KEYS if key in out}


def _interpolate_int(values, cells, n: int, moving_only: bool) -> list[int]:
    out = [0] * n
    for start, length, is_moving, k in cells:
        if moving_only and not is_moving:
            continue
        y0, y1 = values[k], values[k + 1]
        out[start : start + length] = [
            math.floor(lin(y0, y1, j, length) + 0.5) for j in range(length)
        ]
    out[-1] = math.floor(values[-1] + 0.5)
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


def _latlng(knots, distance_raw: list[float], total: float) -> list[list[float]]:
    count = len(knots) - 1
    last = [round(knots[-1][0], 6), round(knots[-1][1], 6)]
    out = []
    for d in distance_raw:
        f = d / total * count
        idx = int(f)
        if idx >= count:
            out.append(last)
            continue
        t = f - idx
        (a_lat, a_lng), (b_lat, b_lng) = knots[idx], knots[idx + 1]
        out.append([round(a_lat + (b_lat - a_lat) * t, 6), round(a_lng + (b_lng - a_lng) * t, 6)])
    out[0] = [round(knots[0][0], 6), round(knots[0][1], 6)]
    return out


def _grade(altitude: list[float], distance: list[float], window: int = 10) -> list[float]:
    n = len(altitude)
    out = [0.0] * n
    for i in range(n):
        a, b = max(0, i - window), min(n - 1, i + window)
        run = distance[b] - distance[a]
        if run > 1.0:
            out[i] = round((altitude[b] - altitude[a]) / run * 100, 1)
    return out
