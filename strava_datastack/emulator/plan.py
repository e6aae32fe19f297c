"""Compact per-activity plans that summaries and 1 Hz streams are both derived from.

Why plans: the list endpoint needs summaries for ~1,800 activities at start-up, but real 1 Hz
streams for all of them would take many seconds to generate in pure Python. A plan holds a few
control points per minute; every summary aggregate (distance, moving time, elevation gain,
means and maxima) is computed from the plan in closed form, and the stream expander later
interpolates the same control points sample by sample, nudging integer channels so their sums
hit the same targets. Summary and streams therefore agree exactly without ever materialising
streams for activities nobody asks about.

Sample model: samples ``i = 0..E`` one second apart (``E`` = elapsed time). Control indices
``xs[0] = 0 < xs[1] < ... < xs[-1] = E`` split them into cells ``[xs[k], xs[k+1])``, each moving
or stopped; the last sample belongs to the last (moving) cell and sample 0 is always stopped, as
on a real device. Inside a cell every channel is the linear interpolation ``lin`` between the
cell's two control values. Most stops are recorded (stopped samples, as a watch without
auto-pause writes them); the odd one is a recording gap (auto-pause): its samples are left out of
every stream, so the time stream jumps across it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

from .rng import rng_for

EARTH_M_PER_DEG = 111_320.0


@dataclass(frozen=True, slots=True)
class Sensors:
    """Which channels a recording has (decides stream keys and summary fields)."""

    gps: bool
    altitude: bool
    heartrate: bool
    cadence: bool
    power: bool
    temp: bool


@dataclass(frozen=True, slots=True)
class Spec:
    """Everything needed to rebuild an activity's plan deterministically.

    Attributes:
        seed: Athlete seed.
        index: Position in history; together with ``seed`` it keys the plan's randomness.
        kind: Internal kind ("run", "ride", "trainer", "swim", "walk", "hike").
        distance: Target distance in metres (0.1 m precision).
        speed: Typical moving speed in m/s (sets the moving time).
        sensors: Recorded channels.
        start: ``(lat, lng)`` of the start, or None without GPS.
        base_alt: Altitude around the start in metres.
        relief: Amplitude of rolling terrain in metres.
        climb: Height of one big climb peaking mid-activity (hikes) in metres.
        hr: Target heart rate while moving (bpm).
        cadence: Typical cadence.
        watts: Typical power (W) when ``sensors.power``.
        temp: Air temperature (deg C) when ``sensors.temp``.
        pause_p: Probability of a stop after each moving cell.
        loop: Whether the route returns to its start.
    """

    seed: int
    index: int
    kind: str
    distance: float
    speed: float
    sensors: Sensors
    start: tuple[float, float] | None
    base_alt: float
    relief: float
    climb: float
    hr: float
    cadence: float
    watts: float
    temp: int
    pause_p: float
    loop: bool


@dataclass(frozen=True, slots=True)
class Plan:
    """Control points of one activity (see module docstring)."""

    spec: Spec
    xs: tuple[int, ...]
    moving: tuple[bool, ...]
    gap: tuple[bool, ...]  # per cell: a stop the device did not record (auto-pause)
    speed: tuple[float, ...]
    alt_dm: tuple[int, ...] | None
    hr: tuple[float, ...] | None
    cadence: tuple[float, ...] | None
    watts: tuple[float, ...] | None
    knots: tuple[tuple[float, float], ...] | None
    hr_sum: int
    cadence_sum: int
    watts_sum: int
    hr_max: int
    watts_max: int

    @property
    def elapsed(self) -> int:
        return self.xs[-1]

    @property
    def samples(self) -> int:
        """Recorded samples: one per second, except inside recording gaps."""
        missing = sum(b - a for (a, b), g in zip(pairwise(self.xs), self.gap, strict=True) if g)
        return self.xs[-1] + 1 - missing

    @property
    def moving_time(self) -> int:
        cells = sum(b - a for (a, b), m in zip(pairwise(self.xs), self.moving, strict=True) if m)
        return cells + 1  # the final sample is moving too


def lin(y0: float, y1: float, j: int, length: int) -> float:
    """Value ``j`` samples into a cell of ``length`` samples.

    Shared by plans and streams so both compute bit-identical floats.
    """
    return y0 + (y1 - y0) * j / length


def _cell_sum(y0: float, y1: float, length: int) -> float:
    # Closed form of sum(lin(y0, y1, j, L) for j in range(L)).
    return length * y0 + (y1 - y0) * (length - 1) / 2


def _noise(rng, sd: float) -> float:
    # Uniform noise with standard deviation ``sd``: much cheaper than a Gaussian, and plans
    # draw ~100k values at start-up.
    return (rng.random() - 0.5) * 3.4641016151377544 * sd


def _randint(rng, lo: int, hi: int) -> int:
    return lo + int(rng.random() * (hi - lo + 1))


def _round_half_up(value: float) -> int:
    # Monotone rounding: keeps interpolated integer channels monotone inside a cell.
    return math.floor(value + 0.5)


CELL_SECONDS = {"swim": (20, 50), "ride": (40, 120), "hike": (60, 150)}

# The athlete's power-duration relation (FTP 265 W): sustained efforts follow the critical-power
# model P(d) = CP + W' / d (1 min ~460 W, 5 min ~300 W, 20 min ~270 W, 60 min ~265 W = FTP);
# sprints are neuromuscular, above what W' alone allows (5 s ~900 W). Rides with power carry
# some of these efforts, so the mean-maximal curve the demo shows has the shape of a real one.
CRITICAL_POWER_W = 262.0
W_PRIME_J = 12_000.0
SPRINT_PEAK_W = 950.0
EFFORT_SECONDS = (60, 300, 1200, 3600)
EFFORT_WEIGHTS = (2, 3, 3, 2)
SPRINT_P = 0.04  # chance of a sprint after each ordinary moving cell of a ride with power
EFFORT_P = 0.6  # chance that a ride with power has one sustained hard effort
GAP_P = 0.03  # chance that a stop is not recorded (auto-pause) but leaves a gap
PAUSE_SECONDS = {"swim": (10, 40), "run": (5, 60), "walk": (10, 90), "hike": (30, 300)}


def build_plan(spec: Spec) -> Plan:
    """Rebuild the plan for ``spec`` (pure function of the spec)."""
    rng = rng_for(spec.seed, "plan", spec.index)
    moving_target = max(60, round(spec.distance / spec.speed))

    xs, moving, gap = [0, 1], [False], [False]
    # Power an effort holds at each control point (None: the ride's ordinary power).
    targets: list[float | None] = [None, None]
    lo, hi = CELL_SECONDS.get(spec.kind, (30, 90))
    p_lo, p_hi = PAUSE_SECONDS.get(spec.kind, (10, 120))
    efforts = spec.sensors.power and spec.kind in ("ride", "trainer")
    effort_at = -1
    if efforts and rng.random() < EFFORT_P:
        seconds = rng.choices(EFFORT_SECONDS, EFFORT_WEIGHTS)[0]
        if seconds * 1.5 < moving_target:
            effort_at = _randint(rng, (moving_target - seconds) // 5, moving_target - seconds - 60)
            effort_seconds = seconds
    done = 0

    def append(length: int, is_moving: bool, target: float | None, unrecorded=False) -> None:
        xs.append(xs[-1] + length)
        moving.append(is_moving)
        gap.append(unrecorded)
        targets.append(target)

    while done < moving_target - 1:
        if 0 <= effort_at <= done:
            # a sustained effort: ramp up in 1 s, hold for its duration, ease off over 5 s
            power = (CRITICAL_POWER_W + W_PRIME_J / effort_seconds) * rng.uniform(0.92, 1.0)
            cells = [1] + [60] * (effort_seconds // 60) + [5]
            for n, length in enumerate(cells):
                append(length, True, None if n == len(cells) - 1 else power)
            done += sum(cells)
            effort_at = -1
            continue
        length = min(_randint(rng, lo, hi), moving_target - 1 - done)
        append(length, True, None)
        done += length
        if efforts and done + 30 < moving_target - 1 and rng.random() < SPRINT_P:
            # a sprint: 1 s to the peak, 8 s fading to 80 % of it, 3 s back to ordinary power
            peak = SPRINT_PEAK_W * rng.uniform(0.85, 1.0)
            for length, target in ((1, peak), (8, 0.8 * peak), (3, None)):
                append(length, True, target)
            done += 12
        if done < moving_target - 1 and rng.random() < spec.pause_p:
            append(_randint(rng, p_lo, p_hi), False, None, rng.random() < GAP_P)
    n_points = len(xs)

    # Progress through the route at each control point (moving share), used to shape terrain.
    progress, acc = [0.0] * n_points, 0
    for k in range(1, n_points):
        if moving[k - 1]:
            acc += xs[k] - xs[k - 1]
        progress[k] = acc / moving_target

    alt_dm = _altitude(spec, rng, progress, moving) if spec.sensors.altitude else None
    watts = _watts(spec, rng, xs, moving, alt_dm, targets) if spec.sensors.power else None
    speed = _speed(spec, rng, xs, moving, alt_dm, watts, targets)
    hr = (
        _heartrate(spec, rng, xs, moving, alt_dm, watts, targets)
        if spec.sensors.heartrate
        else None
    )
    cadence = (
        [max(1.0, spec.cadence + _noise(rng, 2.0)) for _ in xs] if spec.sensors.cadence else None
    )
    knots = _knots(spec, rng) if spec.sensors.gps and spec.start else None

    def sums(values: list[float] | None, moving_only: bool) -> tuple[int, int]:
        if values is None:
            return 0, 0
        total, peak = values[-1], values[-1]
        for k in range(n_points - 1):
            if gap[k] or (moving_only and not moving[k]):
                continue
            length = xs[k + 1] - xs[k]
            total += _cell_sum(values[k], values[k + 1], length)
            peak = max(peak, values[k], lin(values[k], values[k + 1], length - 1, length))
        return round(total), _round_half_up(peak)

    hr_sum, hr_max = sums(hr, moving_only=False)
    cad_sum, _ = sums(cadence, moving_only=True)
    watts_sum, watts_max = sums(watts, moving_only=True)
    return Plan(
        spec=spec,
        xs=tuple(xs),
        moving=tuple(moving),
        gap=tuple(gap),
        speed=tuple(speed),
        alt_dm=tuple(alt_dm) if alt_dm is not None else None,
        hr=tuple(hr) if hr is not None else None,
        cadence=tuple(cadence) if cadence is not None else None,
        watts=tuple(watts) if watts is not None else None,
        knots=knots,
        hr_sum=hr_sum,
        cadence_sum=cad_sum,
        watts_sum=watts_sum,
        hr_max=hr_max,
        watts_max=watts_max,
    )


def _altitude(spec: Spec, rng, progress: list[float], moving: list[bool]) -> list[int]:
    waves = [
        (spec.relief * rng.uniform(0.5, 1.0), rng.uniform(0.5, 3.0), rng.uniform(0, math.tau))
        for _ in range(2)
    ]
    alt = []
    for k, f in enumerate(progress):
        if k > 0 and not moving[k - 1]:
            alt.append(alt[-1])  # standing still: altitude does not change
            continue
        metres = spec.base_alt + spec.climb * math.sin(math.pi * f)
        metres += sum(a * math.sin(math.tau * w * f + p) for a, w, p in waves)
        metres += _noise(rng, 0.4)
        alt.append(round(metres * 10))
    return alt


def _speed(spec: Spec, rng, xs, moving, alt_dm, watts, targets) -> list[float]:
    raw = []
    for k in range(len(xs)):
        factor = 1 + _noise(rng, 0.06)
        if alt_dm is not None and k + 1 < len(xs) and moving[k]:
            grade = (alt_dm[k + 1] - alt_dm[k]) / 10 / (spec.speed * (xs[k + 1] - xs[k]))
            factor *= 1 - 4 * grade if spec.kind != "ride" else 1 - 8 * grade
        if watts is not None and (spec.kind == "trainer" or targets[k] is not None):
            # speed grows with the cube root of power (air drag); a trainer's speed is virtual,
            # computed from power alone
            factor *= (max(watts[k], 1.0) / spec.watts) ** (1 / 3)
        raw.append(spec.speed * min(1.6, max(0.35, factor)))
    # Scale so the summed 1 Hz speeds (the distance stream) land exactly on the target.
    total = raw[-1] + sum(
        _cell_sum(raw[k], raw[k + 1], xs[k + 1] - xs[k]) for k in range(len(xs) - 1) if moving[k]
    )
    scale = spec.distance / total
    return [v * scale for v in raw]


def _heartrate(spec: Spec, rng, xs, moving, alt_dm, watts, targets) -> list[float]:
    rest = 62.0
    out = []
    for k, t in enumerate(xs):
        warm = 1 - math.exp(-t / 240)
        # cardiac drift: about 5 bpm per hour at the same effort
        drift = min(15.0, 5.0 * t / 3600)
        value = rest + 30 + (spec.hr - rest - 30) * warm + drift + _noise(rng, 2.5)
        if alt_dm is not None and k + 1 < len(xs) and moving[k]:
            value += 0.08 * (alt_dm[k + 1] - alt_dm[k])
        if watts is not None and targets[k] is not None:
            # working hard: heart rate follows with a lag of about a minute, so a sprint barely
            # moves it and a sustained effort lifts it fully
            lag = min(1.0, (xs[k] - xs[k - 1]) / 60)
            value += lag * min(25.0, 20.0 * (watts[k] / spec.watts - 1))
        if k > 0 and not moving[k - 1]:
            value -= min(25.0, 0.4 * (xs[k] - xs[k - 1]))  # recovering during a stop
        out.append(min(196.0, max(rest, value)))
    return out


def _watts(spec: Spec, rng, xs, moving, alt_dm, targets) -> list[float]:
    out = []
    for k in range(len(xs)):
        if targets[k] is not None:
            out.append(targets[k] * (1 + _noise(rng, 0.02)))
            continue
        value = spec.watts * (1 + _noise(rng, 0.12))
        if spec.kind == "trainer":
            value *= 1.25 if (k // 4) % 3 == 2 else 0.95  # structured intervals
        if alt_dm is not None and k + 1 < len(xs) and moving[k]:
            grade = (alt_dm[k + 1] - alt_dm[k]) / 10 / (spec.speed * (xs[k + 1] - xs[k]))
            value *= 1 + 6 * grade
        out.append(min(spec.watts * 2, max(0.0, value)))
    return out


def _knots(spec: Spec, rng) -> tuple[tuple[float, float], ...]:
    """Route geometry as points at equal distance steps (start to finish)."""
    count = min(200, max(16, int(spec.distance / 150)))
    step = spec.distance / count
    heading = rng.uniform(0, math.tau)
    turn = rng.choice((-1, 1)) * (1.0 if spec.loop else 0.25)
    wiggle, freq, phase = rng.uniform(0.2, 0.8), rng.uniform(2, 6), rng.uniform(0, math.tau)
    xy = [(0.0, 0.0)]
    for j in range(count):
        f = (j + 0.5) / count
        theta = heading + turn * math.tau * f + wiggle * math.sin(math.tau * freq * f + phase)
        x, y = xy[-1]
        xy.append((x + step * math.sin(theta), y + step * math.cos(theta)))
    if spec.loop:
        # Close the loop by spreading the residual gap along the route.
        ex, ey = xy[-1]
        xy = [(x - ex * j / count, y - ey * j / count) for j, (x, y) in enumerate(xy)]
    lat0, lng0 = spec.start  # type: ignore[misc]
    m_per_deg_lng = EARTH_M_PER_DEG * math.cos(math.radians(lat0))
    return tuple((lat0 + y / EARTH_M_PER_DEG, lng0 + x / m_per_deg_lng) for x, y in xy)


def aggregates(plan: Plan) -> dict[str, object]:
    """Summary numbers of a plan, exactly as the expanded streams will reproduce them."""
    spec, xs, moving = plan.spec, plan.xs, plan.moving
    n, m = plan.samples, plan.moving_time
    top = plan.speed[-1]
    for k in range(len(xs) - 1):
        if moving[k]:
            length = xs[k + 1] - xs[k]
            top = max(top, plan.speed[k], lin(plan.speed[k], plan.speed[k + 1], length - 1, length))
    out: dict[str, object] = {
        "distance": round(spec.distance, 1),
        "moving_time": m,
        "elapsed_time": plan.elapsed,
        "total_elevation_gain": 0.0,
        "average_speed": round(spec.distance / m, 3),
        "max_speed": round(top, 3),
    }
    if plan.alt_dm is not None:
        gain = sum(max(0, b - a) for a, b in pairwise(plan.alt_dm))
        out["total_elevation_gain"] = round(gain / 10, 1)
        out["elev_high"] = round(max(plan.alt_dm) / 10, 1)
        out["elev_low"] = round(min(plan.alt_dm) / 10, 1)
    if plan.hr is not None:
        out["average_heartrate"] = round(plan.hr_sum / n, 1)
        out["max_heartrate"] = float(plan.hr_max)
    if plan.cadence is not None:
        out["average_cadence"] = round(plan.cadence_sum / m, 1)
    if plan.watts is not None:
        # Weighted (normalised) power is modelled from the control points, not the stream: the
        # 4th-power mean over the moving cells, each weighted by its length (a 9 s sprint
        # weighs less than a 2 min cell).
        w = plan.watts
        cells = [
            (b - a, (w[k] ** 4 + w[k + 1] ** 4) / 2)
            for k, ((a, b), mv) in enumerate(zip(pairwise(xs), moving, strict=True))
            if mv
        ]
        seconds = sum(length for length, _ in cells) or 1
        fourth = sum(length * value for length, value in cells) / seconds
        out["average_watts"] = round(plan.watts_sum / m, 1)
        out["max_watts"] = plan.watts_max
        out["weighted_average_watts"] = round(fourth**0.25)
        out["kilojoules"] = round(plan.watts_sum / 1000, 1)
    if spec.sensors.temp:
        out["average_temp"] = spec.temp
    if plan.knots is not None:
        first, last = plan.knots[0], plan.knots[-1]
        out["start_latlng"] = [round(first[0], 6), round(first[1], 6)]
        out["end_latlng"] = [round(last[0], 6), round(last[1], 6)]
    return out
