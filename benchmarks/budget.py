"""Living within Strava's read budget: a full import of years of history, ours against a seed.

The demo athlete of the local Strava emulator (seed 1) is imported over 2021-01-01 … 2025-12-31
(``--years N``: the last N years of it) under Strava's default limits (100 read requests per 15
minutes, 1,000 a day), on the emulator's controllable clock, frozen from 2026-01-01T00:00:05Z.
Nothing really waits: the budget's own 15-minute pacing moves the emulator clock, and between
runs the benchmark moves it to the next budget reset, as the resume sensor would wait for it.

- **ours**: what ``strava_ingest`` (defs/ingest/assets.py) does for a run over the whole range,
  minus Dagster: its body, ``load_window`` (defs/ingest/load.py), with the default
  ``IngestConfig``: ``RequestBudget`` with the 10 % reserve kept (a backfill, not the daily
  refresh) → ``make_plan`` → athlete data if missing and affordable → ``strava_source`` (detail +
  streams per activity: the real cost) → one dlt load. When a run stops at the daily
  budget, the clock is set to the time the run said to resume after (the next 00:00 UTC) plus
  5 s, and the same range runs again (what ``resume_budget_stopped_runs`` launches), until a run
  finishes without stopping. The warehouse is then checked against the emulator's data.
- **seed**: what a naive daily-partitioned pipeline does, with plain ``requests`` (nothing is
  loaded, only requests are counted): one run per UTC day, in order, back to back: list the day
  (pages until the empty one: 2 requests for a day with activities, 1 for a day without), then
  detail + streams (not for manual entries) per activity. It knows nothing of the budget, so it
  requests until Strava answers 429; the run then fails and what it fetched is thrown away
  (it would have loaded only at the end). The scheduler retries the failed day from scratch
  once the limit that refused it has reset: at the next 15-minute window when the 15-minute
  limit refused it, after 00:00 UTC when the daily one did. (That is the seed's best case: a
  scheduler retrying on a fixed delay would spend more 429s until the daily reset.) It keeps no
  reserve and does not fetch the athlete, gear, zones and stats.

Figures: **requests** is the emulator's count (``usage()['total_requests']``: every API request,
429s included; OAuth token requests are not API requests). **minimum** is what the data costs at
the least: the list pages of the range (full pages of 200, the partial one, the empty one that
ends it), a detail per activity, streams per non-manual activity and the athlete data once
(athlete, each gear, zones, stats), as ``minimum_requests`` in strava_datastack_tests/
test_budget.py counts it. **wasted** = requests − minimum: 429s, the same URL asked again,
anything else beyond the minimum (broken down in the tables). **days** are the UTC days on which
requests were made (first to last); **min_days** = ceil(minimum / 900), 900 being a backfill's
daily allowance (1,000 less the 10 % reserve).

Run: ``uv run python benchmarks/budget.py`` (``--years 2`` for a quicker subset, ``--no-seed``
to skip the seed-style simulation, ``--clock-start`` to start the import at another moment).
The last line reads ``requests=<n> minimum=<n> wasted=<n> days=<n> min_days=<n>
seed_requests=<n> seed_days=<n>``.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

RANGE_END = datetime(2026, 1, 1, tzinfo=UTC)  # exclusive: the last day is 2025-12-31
CLOCK_START = datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC)
RESUME_DELAY = timedelta(seconds=5)  # the sensor resumes a little after the reset
DEFAULT_LIMITS = {"read": (100, 1000), "overall": (200, 2000)}
PER_PAGE = 200
MAX_RUNS = 30  # a loop that does not converge is a finding, not a hang


# --- what the emulator saw ------------------------------------------------------------------


@dataclass
class Hit:
    day: date
    path: str
    page: str | None
    status: int


def record_api_requests(emu: Any) -> list[Hit]:
    """Logs every API request the emulator answers (the limiter counts exactly these)."""
    from urllib.parse import parse_qs, urlsplit

    hits: list[Hit] = []
    handle = emu.handle

    def logged(method, target, headers, body):  # type: ignore[no-untyped-def]
        response = handle(method, target, headers, body)
        parts = urlsplit(target)
        if parts.path.startswith("/api/v3"):
            query = parse_qs(parts.query)
            page = None
            if parts.path.endswith("/athlete/activities"):
                page = "{}-{}:{}".format(
                    query.get("after", ["?"])[0],
                    query.get("before", ["?"])[0],
                    query.get("page", ["1"])[0],
                )
            hits.append(
                Hit(emu.clock.now().date(), parts.path[len("/api/v3") :], page, response.status)
            )
        return response

    emu.handle = logged
    return hits


def endpoint_of(path: str) -> str:
    if path == "/athlete/activities":
        return "list"
    if path.startswith("/activities/") and path.endswith("/streams"):
        return "streams"
    if path.startswith("/activities/"):
        return "detail"
    return "athlete"  # /athlete, /gear/{id}, /athlete/zones, /athletes/{id}/stats


def waste_breakdown(hits: list[Hit]) -> Counter:
    """429s, and 200s for a URL already answered 200 before, by endpoint."""
    seen: set[tuple[str, str | None]] = set()
    waste: Counter = Counter()
    for hit in hits:
        if hit.status == 429:
            waste["429 answers"] += 1
            continue
        key = (hit.path, hit.page)
        if key in seen:
            waste[f"{endpoint_of(hit.path)} asked again"] += 1
        seen.add(key)
    return waste


# --- the data and its minimum cost ------------------------------------------------------------


@dataclass
class History:
    start: datetime
    end: datetime
    activities: list[dict[str, Any]]
    gear: int

    @property
    def manual(self) -> int:
        return sum(1 for a in self.activities if a["manual"])

    @property
    def list_pages(self) -> int:
        # Full pages of 200, the partial one, then the empty page that ends the listing.
        return math.ceil(len(self.activities) / PER_PAGE) + 1

    @property
    def athlete_requests(self) -> int:
        return 1 + self.gear + 2  # athlete, each gear item, zones, stats

    @property
    def per_activity(self) -> int:
        return 2 * len(self.activities) - self.manual

    @property
    def minimum(self) -> int:
        return self.list_pages + self.per_activity + self.athlete_requests


def history(emu: Any, start: datetime, end: datetime) -> History:
    lo, hi = start.timestamp(), end.timestamp()
    activities = [
        a
        for a in emu.athlete.visible(emu.clock.now())
        if lo < datetime.fromisoformat(a["start_date"]).timestamp() < hi
    ]
    profile = emu.athlete.profile(emu.clock.now())
    return History(start, end, activities, len(profile["bikes"]) + len(profile["shoes"]))


# --- ours: the strava_ingest asset's code path, run after run ---------------------------------


@dataclass
class RunReport:
    number: int
    started: datetime
    finished: datetime
    requests: int
    rate_limited: int
    by_endpoint: Counter
    listing: str
    planned_work: int
    planned_cost: int
    fetched: int
    athlete: bool
    waits: int
    stopped: str | None
    resume_after: datetime | None
    allowance_left: int
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)


def run_once(number: int, window: tuple[datetime, datetime], hits: list[Hit]) -> RunReport:
    """One run of `strava_ingest` over `window`: its body without Dagster (`load_window`)."""
    from strava_datastack.defs.ingest.config import IngestConfig
    from strava_datastack.defs.ingest.load import load_window
    from strava_datastack.strava.budget import budget_clock

    wall = time.perf_counter()
    first_hit = len(hits)
    clock = budget_clock()
    started = clock.now()
    messages: list[str] = []
    # The defaults a backfill launched from the UI runs with; not the daily refresh, so the
    # reserve is kept; all tables selected (ingest + transform), so the athlete is loaded once.
    # Runs after the first continue a budget-stopped run, as the resume sensor tags them.
    load = load_window(
        *window, IngestConfig(), daily_refresh=False, continuation=number > 1, log=messages.append
    )
    plan, progress, budget = load.plan, load.progress, load.budget
    resume_after = None
    if progress.stopped is not None:  # what the asset tags the run with for the sensor
        resume_after = progress.resets_at or budget.resets_at()
    run_hits = hits[first_hit:]
    budget.can_afford(0)  # rolls the budget's state to now
    return RunReport(
        number=number,
        started=started,
        finished=clock.now(),
        requests=len(run_hits),
        rate_limited=sum(1 for h in run_hits if h.status == 429),
        by_endpoint=Counter(endpoint_of(h.path) for h in run_hits),
        listing="reused" if plan.listing_reused else f"{plan.list_requests} pages",
        planned_work=len(plan.work),
        planned_cost=plan.activity_cost,
        fetched=len(progress.done_ids),
        athlete=any(endpoint_of(h.path) == "athlete" for h in run_hits),
        waits=sum(1 for m in messages if "waiting" in m),
        stopped=progress.stopped,
        resume_after=resume_after,
        allowance_left=budget.daily_allowance(),
        seconds=time.perf_counter() - wall,
        rows={k: v for k, v in load.row_counts.items() if not k.startswith("_dlt")},
    )


def check_warehouse(data: History) -> list[str]:
    """What the warehouse lacks compared with the emulator's data (empty: complete)."""
    import duckdb

    from strava_datastack import paths

    start = data.start.replace(tzinfo=None)
    end = data.end.replace(tzinfo=None)
    ids = {a["id"] for a in data.activities}
    recorded = {a["id"] for a in data.activities if not a["manual"]}
    con = duckdb.connect(str(paths.warehouse_path()), read_only=True)
    try:

        def id_set(sql: str) -> set[int]:
            return {row[0] for row in con.execute(sql, [start, end]).fetchall()}

        in_window = "select id from strava.activities where start_date >= ? and start_date < ?"
        problems = []
        listed = id_set(in_window)
        details = id_set(f"select id from strava.activity_details where id in ({in_window})")
        streams = id_set(
            "select distinct activity_id from strava.activity_streams "
            f"where activity_id in ({in_window})"
        )
        for name, have, want in (
            ("activities", listed, ids),
            ("activity_details", details, ids),
            ("activity_streams", streams, recorded),
        ):
            if have != want:
                problems.append(f"{name}: {len(want - have)} missing, {len(have - want)} extra")
        for table in ("athlete", "gear", "athlete_zones", "athlete_stats"):
            if not con.execute(f"select count(*) from strava.{table}").fetchone()[0]:
                problems.append(f"{table}: empty")
    finally:
        con.close()
    return problems


def run_ours(years: int, clock_start: datetime, keep: bool) -> dict[str, Any]:
    from strava_datastack.emulator import StravaEmulator
    from strava_datastack.strava.budget import EMULATOR_CLOCK_ENV

    start = RANGE_END.replace(year=RANGE_END.year - years)
    emu = StravaEmulator(
        seed=1,
        clock_start=clock_start,
        read_limits=DEFAULT_LIMITS["read"],
        overall_limits=DEFAULT_LIMITS["overall"],
    )
    data = history(emu, start, RANGE_END)
    hits = record_api_requests(emu)
    workdir = Path(tempfile.mkdtemp(prefix="budget-bench-"))
    runs: list[RunReport] = []
    emu.start()
    try:
        os.environ.update(emu.env())
        os.environ[EMULATOR_CLOCK_ENV] = f"{emu.root_url}/_emulator/"
        os.environ["STRAVA_DATASTACK_DATA_DIR"] = str(workdir)
        while True:
            report = run_once(len(runs) + 1, (start, RANGE_END), hits)
            runs.append(report)
            print(
                f"  ours run {report.number}: {report.started:%Y-%m-%d %H:%M} → "
                f"{report.finished:%H:%M} UTC, {report.requests} requests, "
                f"{report.fetched} activities, {report.seconds:.0f} s"
                + (f"; stopped: {report.stopped}" if report.stopped else ""),
                flush=True,
            )
            if report.stopped is None:
                break
            if len(runs) >= MAX_RUNS:
                print(f"  ours did not finish in {MAX_RUNS} runs; giving up", flush=True)
                break
            # The resume sensor launches the continuation once the budget has reset.
            emu.clock.set(max(report.resume_after, emu.clock.now()) + RESUME_DELAY)
        usage = emu.usage()
        problems = check_warehouse(data)
    finally:
        emu.stop()
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"  ours: warehouse kept in {workdir}")
    return {"data": data, "runs": runs, "usage": usage, "hits": hits, "problems": problems}


# --- seed: daily partitions, no budget, errors at the limit -----------------------------------


def run_seed(years: int, clock_start: datetime) -> dict[str, Any]:
    import requests

    from strava_datastack.emulator import StravaEmulator
    from strava_datastack.strava.rows import STREAM_KEYS  # the keys ours asks for too

    start = RANGE_END.replace(year=RANGE_END.year - years)
    emu = StravaEmulator(
        seed=1,
        clock_start=clock_start,
        read_limits=DEFAULT_LIMITS["read"],
        overall_limits=DEFAULT_LIMITS["overall"],
    )
    data = history(emu, start, RANGE_END)
    hits = record_api_requests(emu)
    session = requests.Session()
    refresh_token = emu.initial_refresh_token
    counts = Counter()
    thrown_away = 0
    structural_minimum = 0  # the seed's own least cost: every day listed, then per activity
    wall = time.perf_counter()
    emu.start()
    try:
        day = start
        while day < RANGE_END:
            # One run = one partition; a failed run is retried from scratch.
            grant = session.post(
                emu.token_url,
                data={
                    "client_id": emu.client_id,
                    "client_secret": emu.client_secret,
                    "grant_type": "refresh_token",
                    "refresh_token": refresh_token,
                },
                timeout=60,
            ).json()
            refresh_token = grant["refresh_token"]
            auth = {"Authorization": f"Bearer {grant['access_token']}"}
            fetched = 0
            refused: requests.Response | None = None

            def get(path: str, params: dict | None = None, auth: dict = auth) -> Any:
                nonlocal fetched, refused
                response = session.get(emu.base_url + path, params=params, headers=auth, timeout=60)
                if response.status_code == 429:
                    refused = response
                    return None
                response.raise_for_status()
                fetched += 1
                return response.json()

            counts["runs"] += 1
            activities: list[dict] = []
            page, ok = 1, True
            while True:
                items = get(
                    "athlete/activities",
                    {
                        "after": int(day.timestamp()),
                        "before": int((day + timedelta(days=1)).timestamp()),
                        "page": page,
                        "per_page": PER_PAGE,
                    },
                )
                if items is None:
                    ok = False
                    break
                if not items:
                    break
                activities += items
                page += 1
            if ok:
                for activity in activities:
                    if get(f"activities/{activity['id']}") is None:
                        ok = False
                        break
                    if not activity["manual"] and (
                        get(
                            f"activities/{activity['id']}/streams",
                            {"keys": ",".join(STREAM_KEYS), "key_by_type": "true"},
                        )
                        is None
                    ):
                        ok = False
                        break
            if ok:
                structural_minimum += page + sum(2 - bool(a["manual"]) for a in activities)
                day += timedelta(days=1)
                continue
            # The run failed: nothing is loaded, the scheduler retries the day later.
            counts["failed runs"] += 1
            thrown_away += fetched
            usage = [int(x) for x in refused.headers["X-Readratelimit-Usage"].split(",")]
            limits = [int(x) for x in refused.headers["X-Readratelimit-Limit"].split(",")]
            now = emu.clock.now()
            if usage[1] > limits[1]:
                counts["retries after the daily reset"] += 1
                reset = now.replace(hour=0, minute=0, second=0, microsecond=0)
                emu.clock.set(reset + timedelta(days=1) + RESUME_DELAY)
            else:
                counts["retries after 15 minutes"] += 1
                emu.clock.set(now + timedelta(minutes=15))
        usage = emu.usage()
    finally:
        emu.stop()
    return {
        "data": data,
        "usage": usage,
        "hits": hits,
        "counts": counts,
        "thrown_away": thrown_away,
        "structural_minimum": structural_minimum,
        "seconds": time.perf_counter() - wall,
    }


# --- the report ------------------------------------------------------------------------------


def days_used(hits: list[Hit]) -> tuple[int, list[date]]:
    """Calendar days from the first request to the last, and those of them without a request."""
    if not hits:
        return 0, []
    first, last = hits[0].day, hits[-1].day
    busy = {h.day for h in hits}
    span = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return len(span), [d for d in span if d not in busy]


def table(header: list[str], rows: list[list[Any]]) -> None:
    def fmt(value: Any) -> str:
        return f"{value:,}" if isinstance(value, int) else str(value)

    cells = [header] + [[fmt(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        print(
            "  ".join(
                c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--years",
        type=int,
        default=5,
        choices=range(1, 6),
        help="import the last N years of 2021-2025 (default 5)",
    )
    parser.add_argument("--no-seed", action="store_true", help="skip the seed-style simulation")
    parser.add_argument("--keep", action="store_true", help="keep ours' data folder")
    parser.add_argument(
        "--clock-start",
        type=datetime.fromisoformat,
        default=CLOCK_START,
        help="when the import starts (default 2026-01-01T00:00:05+00:00)",
    )
    args = parser.parse_args()
    clock_start = args.clock_start.astimezone(UTC)
    logging.basicConfig(level=logging.WARNING)
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")  # dlt's per-batch schema warnings
    started = time.perf_counter()

    print(f"ours: {args.years}-year import, one range run continued after each reset", flush=True)
    ours = run_ours(args.years, clock_start, args.keep)
    seed = None
    if not args.no_seed:
        print("seed: daily partitions in order, retried after a 429", flush=True)
        seed = run_seed(args.years, clock_start)
        print(f"  seed: {seed['counts']['runs']:,} runs in {seed['seconds']:.0f} s", flush=True)

    data: History = ours["data"]
    runs: list[RunReport] = ours["runs"]
    daily_allowance = 1000 - math.ceil(1000 * 0.1)
    minimum = data.minimum
    min_days = math.ceil(minimum / daily_allowance)
    requests_ = ours["usage"]["total_requests"]
    wasted = requests_ - minimum
    days, idle = days_used(ours["hits"])

    print()
    print(
        f"History {data.start:%Y-%m-%d} … {data.end - timedelta(days=1):%Y-%m-%d}: "
        f"{len(data.activities):,} activities ({data.manual} manual), {data.gear} gear; "
        f"limits 100/15 min, 1,000/day; a backfill's daily allowance {daily_allowance}"
    )
    print(
        f"minimum = {data.list_pages} list pages + {len(data.activities):,} details + "
        f"{len(data.activities) - data.manual:,} streams + {data.athlete_requests} athlete "
        f"data = {minimum:,} requests → min_days = ceil({minimum:,} / {daily_allowance}) = "
        f"{min_days}"
    )
    print()
    print("Ours, run by run (one run per day, each over the whole range)")
    table(
        [
            "run",
            "UTC day",
            "from",
            "to",
            "requests",
            "list",
            "athlete",
            "detail",
            "streams",
            "429",
            "waits",
            "activities",
            "left today",
            "stopped",
            "wall s",
        ],
        [
            [
                r.number,
                f"{r.started:%Y-%m-%d}",
                f"{r.started:%H:%M}",
                f"{r.finished:%H:%M}",
                r.requests,
                r.by_endpoint["list"] if r.listing != "reused" else "reused",
                r.by_endpoint["athlete"],
                r.by_endpoint["detail"],
                r.by_endpoint["streams"],
                r.rate_limited,
                r.waits,
                f"{r.fetched}/{r.planned_work}",
                r.allowance_left,
                "budget" if r.stopped else "done",
                f"{r.seconds:.0f}",
            ]
            for r in runs
        ],
    )
    ours_waste = waste_breakdown(ours["hits"])
    unexplained = wasted - sum(ours_waste.values())
    if unexplained:
        ours_waste["other (neither a repeat nor a 429)"] = unexplained
    seed_waste: Counter = Counter()
    if seed is not None:
        seed_min = data.minimum - data.athlete_requests  # the seed fetches no athlete data
        seed_requests = seed["usage"]["total_requests"]
        seed_days, seed_idle = days_used(seed["hits"])
        seed_waste = waste_breakdown(seed["hits"])
        # Listing each day on its own costs more pages than listing the range in one go.
        seed_waste["list pages of daily listing"] = seed["structural_minimum"] - seed_min
        seed_waste["other (neither a repeat nor a 429)"] = (
            seed_requests - seed_min - sum(seed_waste.values())
        )
    categories = sorted(set(ours_waste) | {k for k, v in seed_waste.items() if v})
    rows: list[tuple[str, Any, Any]] = [
        ("requests (emulator count)", requests_, seed and seed_requests),
        ("minimum possible", minimum, seed and f"{seed_min:,} (no athlete data)"),
        (
            "requests / minimum",
            f"{requests_ / minimum:.3f}",
            seed and f"{seed_requests / seed_min:.3f}",
        ),
        ("wasted (requests - minimum)", wasted, seed and seed_requests - seed_min),
        *[(f"  {what}", ours_waste[what], seed and seed_waste[what]) for what in categories],
        ("calendar days used", days, seed and seed_days),
        ("min_days", min_days, seed and f"{math.ceil(seed_min / 1000)} (1,000/day, no reserve)"),
        ("idle days (no request)", len(idle), seed and len(seed_idle)),
        (
            "warehouse complete",
            "yes" if not ours["problems"] else "; ".join(ours["problems"]),
            seed and "(not loaded)",
        ),
    ]
    print()
    print("Comparison")
    if seed is None:
        table(["", "ours"], [list(row[:2]) for row in rows])
    else:
        table(["", "ours", "seed"], [list(row) for row in rows])
        c = seed["counts"]
        print(
            f"seed: {c['runs']:,} runs, {c['failed runs']:,} failed at a 429 "
            f"({c['retries after 15 minutes']:,} retried after 15 minutes, "
            f"{c['retries after the daily reset']:,} after the daily reset), throwing away "
            f"{seed['thrown_away']:,} answers they had fetched; listing each day on its own costs "
            f"it {seed['structural_minimum']:,} requests even without a 429"
        )
    if unexplained:
        print(f"ours: {unexplained} requests beyond the minimum are neither a repeat nor a 429")
    print(f"benchmark wall time {time.perf_counter() - started:.0f} s")
    seed_requests = seed["usage"]["total_requests"] if seed else 0
    seed_days_n = days_used(seed["hits"])[0] if seed else 0
    print(
        f"requests={requests_} minimum={minimum} wasted={wasted} days={days} "
        f"min_days={min_days} seed_requests={seed_requests} seed_days={seed_days_n}",
        flush=True,
    )


if __name__ == "__main__":
    main()
