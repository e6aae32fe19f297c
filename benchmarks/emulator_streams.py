"""How long the emulator takes to generate the 1 Hz streams of its longest rides.

Streams are generated on request (GET /activities/{id}/streams), so their cost is part of every
streams request a test or the demo makes. This times the generation alone, without HTTP, for
the ten longest non-manual rides of the demo athlete (emulator seed 3, as the emulator tests),
each generated ``--repeat`` times.

Run: ``uv run python benchmarks/emulator_streams.py``. The last line reads
``rides=<n> samples=<n> median_s=<s> max_s=<s>`` (seconds per ride).
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime

from strava_datastack.emulator import StravaEmulator
from strava_datastack.emulator.plan import build_plan
from strava_datastack.emulator.streams import expand

CLOCK = datetime(2025, 10, 20, 12, 7, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="generations per ride")
    args = parser.parse_args()
    emulator = StravaEmulator(seed=3, clock_start=CLOCK)
    athlete = emulator.athlete
    rides = sorted(
        (
            (summary["elapsed_time"], position)
            for position, summary in enumerate(athlete.activities)
            if summary["type"] == "Ride" and not summary["manual"]
        ),
        reverse=True,
    )[:10]
    timings, samples = [], 0
    for _, position in rides:
        for _ in range(args.repeat):
            started = time.perf_counter()
            streams = expand(build_plan(athlete._specs[position]))
            timings.append(time.perf_counter() - started)
        samples += len(streams["time"])
        print(f"ride {athlete.activities[position]['id']}: {len(streams['time'])} samples")
    print(
        f"rides={len(rides)} samples={samples} median_s={statistics.median(timings):.3f} "
        f"max_s={max(timings):.3f}"
    )


if __name__ == "__main__":
    main()
