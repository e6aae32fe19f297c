"""Writing the demo athlete's 5-year Strava export archive (what the demo imports first).

The emulator's seed-1 athlete over 2021-01-01 … 2025-12-31 (``--years N``: the last N years):
``write_archive`` as ``uv run strava-datastack export-archive`` calls it, zipped, English, into a
temporary folder. Wall time and the CPU seconds of this process and its render workers are
reported separately, because on a shared machine the wall time mostly measures the neighbours.

Run: ``uv run python benchmarks/export_archive.py [--years N] [--workers N]``.
The last line reads ``activities=<n> files=<n> samples=<n> wall_s=<s> cpu_s=<s> mb=<size>``.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from datetime import date
from pathlib import Path

from strava_datastack.emulator.archive import write_archive
from strava_datastack.emulator.athlete import SyntheticAthlete


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--workers", type=int, default=None, help="default: up to 2")
    args = parser.parse_args()
    end = date(2025, 12, 31)
    start = date(end.year - args.years + 1, 1, 1)
    athlete = SyntheticAthlete(1)  # built before the clock starts, as a running emulator has it
    first, last = start.isoformat(), end.isoformat()
    samples = sum(
        a["elapsed_time"] + 1
        for a in athlete.activities
        if first <= a["start_date"][:10] <= last and not a["manual"]
    )
    with tempfile.TemporaryDirectory() as folder:
        cpu, wall = _cpu_seconds(), time.perf_counter()
        summary = write_archive(
            Path(folder), start=start, end=end, athlete=athlete, workers=args.workers
        )
        wall, cpu = time.perf_counter() - wall, _cpu_seconds() - cpu
    files = sum(summary.files.values())
    print(f"{summary.activities} activities {start} .. {end}: {summary.files}")
    print(
        f"activities={summary.activities} files={files} samples={samples} "
        f"wall_s={wall:.1f} cpu_s={cpu:.1f} mb={summary.bytes / 1e6:.1f}"
    )


if __name__ == "__main__":
    main()
