"""`strava-datastack`: the project's own commands (the demo, the emulator, serving the site)."""

from __future__ import annotations

import argparse
import errno
import os
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from strava_datastack import paths
from strava_datastack.demo import DEMO_API_DAYS, DEMO_ARCHIVE_DAYS


def emulator_session_env(emulator, data_dir: Path) -> dict[str, str]:
    """Everything a by-hand run against the emulator needs, in a shell of its own.

    Its own data folder and Dagster instance (like the demo's), so nothing the emulator serves
    lands in the warehouse, token store, budget ledger or partitions of a real account (`data/`).
    """
    data_dir = data_dir.resolve()
    dagster_home = data_dir / "dagster_home"
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(paths.REPO_ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    return {
        **emulator.env(),
        "STRAVA_DATASTACK_DATA_DIR": str(data_dir),
        "STRAVA_DATASTACK_IMPORT_DIR": str(data_dir / "import"),
        "DAGSTER_HOME": str(dagster_home),
    }


def cmd_emulator(args: argparse.Namespace) -> int:
    from strava_datastack.emulator import StravaEmulator

    emulator = StravaEmulator(
        seed=args.seed,
        port=args.port,
        read_limits=tuple(args.read_limits),
        overall_limits=tuple(args.overall_limits),
    ).start()
    for name, value in emulator_session_env(emulator, Path(args.data_dir)).items():
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
    """The demo athlete's whole history: the export archive, then the API for the last days."""
    from strava_datastack.demo import run_demo

    return run_demo(args.archive_days, args.api_days, args.seed)


# Not 3000: `dagster dev` serves its UI there, and both usually run side by side.
SERVE_PORT = 3001


def cmd_serve(args: argparse.Namespace) -> int:
    from strava_datastack.site.serve import serve_site

    if args.data_dir:
        os.environ["STRAVA_DATASTACK_DATA_DIR"] = args.data_dir
    site = paths.site_dir()
    if not (site / "index.html").exists():
        print(f"No built site in {site}: run `uv run strava-datastack demo` first.")
        return 1
    try:
        server, url = serve_site(site, port=args.port)
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        print(
            f"Port {args.port} is already in use on 127.0.0.1 (another `serve`, or another "
            f"program). Stop it, or serve on another port: uv run strava-datastack serve "
            f"--port {args.port + 1}" + (f" --data-dir {args.data_dir}" if args.data_dir else ""),
            file=sys.stderr,
        )
        return 1
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


def cmd_export_archive(args: argparse.Namespace) -> int:
    """Writes the demo athlete's Strava export archive (what a user downloads from Strava)."""
    from datetime import date

    from strava_datastack.emulator.archive import write_archive

    started = time.monotonic()
    summary = write_archive(
        Path(args.out),
        locale=args.locale,
        start=date.fromisoformat(args.start) if args.start else None,
        end=date.fromisoformat(args.end) if args.end else None,
        zipped=not args.unpacked,
        seed=args.seed,
    )
    files = ", ".join(f"{n} {suffix}" for suffix, n in summary.files.items())
    print(
        f"Wrote {summary.path} ({summary.bytes / 1e6:.1f} MB) in {time.monotonic() - started:.1f} s"
    )
    print(f"  {summary.activities} activities {summary.start} .. {summary.end}, "
          f"{summary.manual} manual (no file); files: {files}")  # fmt: skip
    return 0


def cmd_connect(args: argparse.Namespace) -> int:
    from strava_datastack.connect import main as connect_main

    return connect_main(args)


def cmd_status(args: argparse.Namespace) -> int:
    from strava_datastack.status import main as status_main

    return status_main(args)


def _pair(text: str) -> list[int]:
    first, second = text.split(",")
    return [int(first), int(second)]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="strava-datastack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="run the whole stack on the demo athlete")
    demo.add_argument(
        "--archive-days",
        type=int,
        default=DEMO_ARCHIVE_DAYS,
        help="days of history the export archive holds (imported with no Strava request)",
    )
    demo.add_argument(
        "--api-days",
        type=int,
        default=DEMO_API_DAYS,
        help="last days loaded through the API (the archive holds everything before them)",
    )
    demo.add_argument("--seed", type=int, default=1, help="which synthetic athlete")
    demo.set_defaults(func=cmd_demo)

    emulator = commands.add_parser("emulator", help="run the Strava API emulator alone")
    emulator.add_argument("--port", type=int, default=0, help="0 picks a free port")
    emulator.add_argument("--seed", type=int, default=1)
    emulator.add_argument("--read-limits", type=_pair, default=[100, 1000], help="15min,daily")
    emulator.add_argument("--overall-limits", type=_pair, default=[200, 2000], help="15min,daily")
    emulator.add_argument(
        "--data-dir",
        default=str(paths.REPO_ROOT / "data" / "emulator"),
        help="the data folder and Dagster instance of runs against it (never data/ itself)",
    )
    emulator.set_defaults(func=cmd_emulator)

    plan = commands.add_parser("plan", help="requests and days a date range will cost")
    plan.add_argument("--start", required=True, help="first day, YYYY-MM-DD")
    plan.add_argument("--end", required=True, help="last day, YYYY-MM-DD (included)")
    plan.add_argument(
        "--data-dir", help="the data folder (default: STRAVA_DATASTACK_DATA_DIR or data/)"
    )
    plan.set_defaults(func=cmd_plan)

    archive = commands.add_parser(
        "export-archive", help="write the demo athlete's Strava export archive"
    )
    archive.add_argument("--out", required=True, help="folder to write export_<id>.zip into")
    archive.add_argument("--locale", choices=("en", "cs"), default="en")
    archive.add_argument("--start", help="first day, YYYY-MM-DD (default: start of history)")
    archive.add_argument("--end", help="last day, YYYY-MM-DD, included (default: today)")
    archive.add_argument("--unpacked", action="store_true", help="a folder instead of a ZIP")
    archive.add_argument("--seed", type=int, default=1, help="which synthetic athlete")
    archive.set_defaults(func=cmd_export_archive)

    connect = commands.add_parser(
        "connect", help="authorize the project for your Strava account (writes .dlt/secrets.toml)"
    )
    connect.add_argument("--client-id", help="the API application's Client ID")
    connect.add_argument(
        "--client-secret",
        help="its Client Secret (better: SOURCES__STRAVA__CREDENTIALS__CLIENT_SECRET, or typed "
        "when asked, so it stays out of the shell history)",
    )
    connect.add_argument(
        "--base-url", help="another Strava, e.g. the emulator's http://127.0.0.1:<port>"
    )
    connect.add_argument(
        "--port", type=int, help="the loopback port Strava sends the browser back to (8723)"
    )
    connect.add_argument("--timeout", type=float, default=300, help="seconds to wait for approval")
    connect.add_argument("--no-browser", action="store_true", help="only print the address")
    connect.set_defaults(func=cmd_connect)

    status = commands.add_parser(
        "status", help="where settings come from, today's budget, the loaded history"
    )
    status.add_argument(
        "--check", action="store_true", help="ask Strava once (GET /athlete) if the app works"
    )
    status.add_argument(
        "--data-dir", help="the data folder (default: STRAVA_DATASTACK_DATA_DIR or data/)"
    )
    status.set_defaults(func=cmd_status)

    serve = commands.add_parser("serve", help="serve the built Evidence site on localhost")
    serve.add_argument(
        "--port",
        type=int,
        default=SERVE_PORT,
        help=f"default {SERVE_PORT} (3000 is Dagster's UI)",
    )
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
