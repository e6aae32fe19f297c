"""`strava-datastack`: the project's own commands (the demo, the emulator, serving the site)."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from strava_datastack import paths

DEMO_DAYS = 28


def _use_repo_dagster_home() -> Path:
    """DAGSTER_HOME defaults to the repository, whose dagster.yaml is the instance config."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(paths.REPO_ROOT))).resolve()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copyfile(paths.REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    return home


def cmd_emulator(args: argparse.Namespace) -> int:
    from strava_datastack.emulator import StravaEmulator

    emulator = StravaEmulator(
        seed=args.seed,
        port=args.port,
        read_limits=tuple(args.read_limits),
        overall_limits=tuple(args.overall_limits),
    ).start()
    for name, value in emulator.env().items():
        print(f"export {name}={value}")
    print(f"# Strava API emulator on {emulator.base_url} (Ctrl-C stops it)", file=sys.stderr)
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        emulator.stop()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Emulator → dlt → dbt → Evidence for the last weeks of the demo athlete, as Dagster runs."""
    os.environ.setdefault("STRAVA_DATASTACK_DATA_DIR", str(paths.REPO_ROOT / "data" / "demo"))
    dagster_home = _use_repo_dagster_home()

    import dagster as dg

    from strava_datastack.definitions import defs
    from strava_datastack.defs import run_tags
    from strava_datastack.emulator import StravaEmulator
    from strava_datastack.warehouse import table_counts

    started = time.monotonic()
    # Each demo starts a fresh emulator: a refresh token it rotated last time, or the budget it
    # counted, belong to the previous one.
    paths.token_store_path().unlink(missing_ok=True)
    paths.budget_ledger_path().unlink(missing_ok=True)
    emulator = StravaEmulator(seed=args.seed).start()
    try:
        os.environ.update(emulator.env())
        today = emulator.clock.now().astimezone(UTC).date()
        first_day = today - timedelta(days=args.days - 1)
        print(f"Strava API emulator (demo athlete, seed {args.seed}) on {emulator.base_url}")
        print(f"Loading {first_day} .. {today} through Dagster (instance: {dagster_home})")
        instance = dg.DagsterInstance.get()
        partitioned = dg.AssetSelection.groups("ingest", "transform")
        result = dg.materialize(
            defs.assets,
            selection=partitioned,
            instance=instance,
            resources=defs.resources,
            tags={
                **run_tags.range_tags(first_day.isoformat(), today.isoformat()),
                run_tags.SOURCE: "demo",
            },
            raise_on_error=False,
        )
        if not result.success:
            print(f"The load run {result.run_id} failed; see `uv run dagster dev` for its logs.")
            return 1
        site = dg.materialize(
            defs.assets,
            selection=dg.AssetSelection.groups("bi"),
            instance=instance,
            resources=defs.resources,
            tags={run_tags.SOURCE: "demo"},
            raise_on_error=False,
        )
        if not site.success:
            print(f"The site run {site.run_id} failed; see `uv run dagster dev` for its logs.")
            return 1
        usage = emulator.usage()
    finally:
        emulator.stop()

    # Count in the snapshot: this process may still hold the live file open (dlt, dbt).
    counts = table_counts(paths.warehouse_snapshot_path(), ["strava", "marts"])
    raw = {name.split(".")[1]: n for name, n in counts.items() if name.startswith("strava.")}
    marts = {name.split(".")[1]: n for name, n in counts.items() if name.startswith("marts.")}
    print()
    print(f"Done in {time.monotonic() - started:.0f} s. Runs {result.run_id} and {site.run_id}.")
    print(f"Strava API requests used: {usage['read_daily']} (of the default 1,000 a day)")
    print(f"Activities loaded: {raw.get('activities', 0)}")
    print(
        "Rows per raw table: "
        + ", ".join(f"{t} {n}" for t, n in raw.items() if not t.startswith("_dlt"))
    )
    print("Rows per mart: " + ", ".join(f"{t} {n}" for t, n in marts.items()))
    print(f"Warehouse: {paths.warehouse_path()}  (try: duckdb -readonly {paths.warehouse_path()})")
    print(f"Site:      {paths.site_dir()}")
    print(f"           serve it: uv run strava-datastack serve --data-dir {paths.data_dir()}")
    print(
        f"Dagster:   DAGSTER_HOME={dagster_home} STRAVA_DATASTACK_DATA_DIR={paths.data_dir()} "
        "uv run dagster dev   (the runs above are in its Runs page)"
    )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from strava_datastack.site.serve import serve_site

    if args.data_dir:
        os.environ["STRAVA_DATASTACK_DATA_DIR"] = args.data_dir
    site = paths.site_dir()
    if not (site / "index.html").exists():
        print(f"No built site in {site}: run `uv run strava-datastack demo` first.")
        return 1
    server, url = serve_site(site, port=args.port)
    print(f"Serving {site} on {url} (Ctrl-C stops it)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.shutdown()
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    """Prints what loading a range costs in requests and days, without making a request."""
    from strava_datastack.strava.budget import DEFAULT_RESERVE_SHARE, Ledger
    from strava_datastack.strava.plan import FetchOptions, estimate_range

    if args.data_dir:
        os.environ["STRAVA_DATASTACK_DATA_DIR"] = args.data_dir
    start = datetime.fromisoformat(args.start).replace(tzinfo=UTC)
    end = datetime.fromisoformat(args.end).replace(tzinfo=UTC) + timedelta(days=1)
    state = Ledger(paths.budget_ledger_path()).load()
    allowance = state.backfill_allowance()
    snapshot = paths.warehouse_snapshot_path()
    warehouse = snapshot if snapshot.exists() else paths.warehouse_path()
    estimate = estimate_range(warehouse, start, end, FetchOptions(), allowance)
    how = "listed" if estimate.activities_exact else "estimated from the usual rate"
    print(f"{args.start} .. {args.end}: {estimate.days} days")
    print(
        f"  activities:        {estimate.activities} ({how}), "
        f"{estimate.activities_loaded} already loaded"
    )
    print(f"  list requests:     {estimate.list_requests}")
    print(
        f"  activity requests: {estimate.activity_requests} (detail + streams; manual: no streams)"
    )
    print(f"  total requests:    {estimate.requests}")
    print(
        f"  days of budget:    {estimate.days_needed} at {allowance} requests a day "
        f"({state.read_limit_daily} a day less {DEFAULT_RESERVE_SHARE:.0%} kept for the "
        "daily refresh)"
    )
    return 0


def _pair(text: str) -> list[int]:
    first, second = text.split(",")
    return [int(first), int(second)]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="strava-datastack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="run the whole stack on the demo athlete")
    demo.add_argument("--days", type=int, default=DEMO_DAYS, help="days of history to load")
    demo.add_argument("--seed", type=int, default=1, help="which synthetic athlete")
    demo.set_defaults(func=cmd_demo)

    emulator = commands.add_parser("emulator", help="run the Strava API emulator alone")
    emulator.add_argument("--port", type=int, default=0, help="0 picks a free port")
    emulator.add_argument("--seed", type=int, default=1)
    emulator.add_argument("--read-limits", type=_pair, default=[100, 1000], help="15min,daily")
    emulator.add_argument("--overall-limits", type=_pair, default=[200, 2000], help="15min,daily")
    emulator.set_defaults(func=cmd_emulator)

    plan = commands.add_parser("plan", help="requests and days a date range will cost")
    plan.add_argument("--start", required=True, help="first day, YYYY-MM-DD")
    plan.add_argument("--end", required=True, help="last day, YYYY-MM-DD (included)")
    plan.add_argument(
        "--data-dir", help="the data folder (default: STRAVA_DATASTACK_DATA_DIR or data/)"
    )
    plan.set_defaults(func=cmd_plan)

    serve = commands.add_parser("serve", help="serve the built Evidence site on localhost")
    serve.add_argument("--port", type=int, default=3000)
    serve.add_argument(
        "--data-dir", help="the data folder (default: STRAVA_DATASTACK_DATA_DIR or data/)"
    )
    serve.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
