"""How far the local rules (files/derived.py) are from Strava's numbers, on activities with both.

For every recorded activity of one year of the emulator's athlete (seed 1), the original file its
export archive holds (FIT, GPX or TCX, rendered exactly as ``write_archive`` writes it) is parsed
by the import (``parse_activity_file``) and the local rules give moving time, elevation gain,
distance, splits and best efforts, as they do for an activity known only from a file. The same
activity's numbers as the emulator's API serves them (summary ``moving_time``,
``total_elevation_gain``, ``distance``; the detail's ``splits_metric``, ``splits_standard`` and
``best_efforts``) are the reference. Splits are paired by units and number, best efforts by name.

Per metric: how many pairs, the median and 95th percentile of the absolute and of the relative
difference, and the share of pairs within 1 %. The emulator stands in for Strava here; its
numbers follow Strava's published behaviour, not Strava's unpublished code (see
docs/file-import.md).

Run: ``uv run python benchmarks/file_rules.py [--year 2025]``. The last line reads
``activities=<n> moving_p95_pct=<x> elevation_p95_pct=<x> distance_p95_pct=<x>
splits_p95_s=<x> best_efforts_p95_s=<x> moving_within_1pct=<share> ...``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from strava_datastack.emulator.archive import file_suffix, render_file  # noqa: E402
from strava_datastack.emulator.athlete import SyntheticAthlete  # noqa: E402
from strava_datastack.files import derived  # noqa: E402
from strava_datastack.files.activity_file import parse_activity_file  # noqa: E402
from strava_datastack.files.load import RUN_SPORTS  # noqa: E402

METRICS = (
    ("moving_time", "s"),
    ("elevation_gain", "m"),
    ("distance", "m"),
    ("split_elapsed_time", "s"),
    ("split_moving_time", "s"),
    ("best_effort_time", "s"),
)


def compare(seed: int, year: int) -> tuple[dict[str, list[tuple[float, float]]], dict[str, int]]:
    """(ours, Strava's) pairs per metric, and counts of what could not be paired."""
    athlete = SyntheticAthlete(seed)
    now = datetime(year + 1, 1, 1, tzinfo=UTC)
    pairs: dict[str, list[tuple[float, float]]] = defaultdict(list)
    unpaired: dict[str, int] = defaultdict(int)
    for summary in athlete.activities:
        if not summary["start_date"].startswith(str(year)):
            continue
        suffix = file_suffix(seed, summary)
        rendered = render_file(athlete, summary, athlete.detail_extras(summary["id"]) or {}, suffix)
        if rendered is None:
            continue  # a manual entry: no file
        unpaired["activities"] += 1
        unpaired[f"files{suffix}"] += 1
        parsed = parse_activity_file(f"{summary['id']}{suffix}", rendered[0])[0]
        detail = athlete.detail(summary["id"], now)
        pairs["moving_time"].append((parsed.moving_time, summary["moving_time"]))
        if parsed.total_elevation_gain is not None:
            pairs["elevation_gain"].append(
                (parsed.total_elevation_gain, summary["total_elevation_gain"])
            )
        else:
            unpaired["elevation_gain: file without altitude"] += 1
        if parsed.distance is not None:
            pairs["distance"].append((parsed.distance, summary["distance"]))
        for units, key in (("metric", "splits_metric"), ("standard", "splits_standard")):
            theirs = detail.get(key)
            if not theirs:
                continue
            ours = derived.splits(parsed.samples, units).to_pylist()
            if len(ours) != len(theirs):
                unpaired[f"{key}: split count differs"] += 1
            for mine, strava in zip(ours, theirs, strict=False):
                pairs["split_elapsed_time"].append((mine["elapsed_time"], strava["elapsed_time"]))
                pairs["split_moving_time"].append((mine["moving_time"], strava["moving_time"]))
        theirs = {effort["name"]: effort for effort in detail.get("best_efforts") or []}
        ours = (
            {e["name"]: e for e in derived.best_efforts(parsed.samples).to_pylist()}
            if (parsed.sport_type or "") in RUN_SPORTS
            else {}
        )
        for name in theirs.keys() | ours.keys():
            if name in theirs and name in ours:
                pairs["best_effort_time"].append(
                    (ours[name]["elapsed_time"], theirs[name]["elapsed_time"])
                )
            else:
                side = "ours only" if name in ours else "Strava only"
                unpaired[f"best efforts: {side}"] += 1
    return pairs, unpaired


def summarise(values: list[tuple[float, float]]) -> dict[str, float]:
    ours, strava = (np.asarray(side, dtype=np.float64) for side in zip(*values, strict=True))
    absolute = np.abs(ours - strava)
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(strava != 0, absolute / np.abs(strava), np.where(absolute == 0, 0, 1))
    return {
        "n": len(values),
        "abs_median": float(np.median(absolute)),
        "abs_p95": float(np.percentile(absolute, 95)),
        "rel_median_pct": 100 * float(np.median(relative)),
        "rel_p95_pct": 100 * float(np.percentile(relative, 95)),
        "within_1pct": float(np.mean(relative <= 0.01)),
        "abs_max": float(absolute.max()),
        "bias": float(np.median(ours - strava)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    started = time.perf_counter()
    pairs, unpaired = compare(args.seed, args.year)
    print(f"Emulator seed {args.seed}, {args.year}: {unpaired.pop('activities')} recorded "
          f"activities, files " + ", ".join(
              f"{k.removeprefix('files')} {v}" for k, v in sorted(unpaired.items())
              if k.startswith("files")) + f" ({time.perf_counter() - started:.0f} s)")
    print(f"{'metric':20} {'pairs':>6} {'|d| median':>11} {'|d| p95':>9} {'rel median':>11} "
          f"{'rel p95':>8} {'within 1%':>10} {'median d':>9} {'|d| max':>9}")
    stats = {}
    for metric, unit in METRICS:
        if not pairs[metric]:
            continue
        stats[metric] = s = summarise(pairs[metric])
        print(f"{metric:20} {s['n']:6d} {s['abs_median']:9.1f} {unit} {s['abs_p95']:7.1f} {unit} "
              f"{s['rel_median_pct']:10.2f}% {s['rel_p95_pct']:7.2f}% "
              f"{100 * s['within_1pct']:9.1f}% {s['bias']:+7.1f} {unit} {s['abs_max']:7.1f} {unit}")
    for what, count in sorted(unpaired.items()):
        if not what.startswith("files"):
            print(f"not paired: {what}: {count}")
    n = len(pairs["moving_time"])
    print(
        f"activities={n} "
        + " ".join(
            f"{metric}_p95_pct={stats[metric]['rel_p95_pct']:.2f} "
            f"{metric}_within_1pct={stats[metric]['within_1pct']:.3f}"
            for metric, _ in METRICS
            if metric in stats
        )
    )


if __name__ == "__main__":
    main()
