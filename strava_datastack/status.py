"""`strava-datastack status`: where the settings come from and what state the project is in.

Everything here is read from files the project already keeps (the environment, .dlt/secrets.toml,
the budget ledger, the Dagster instance, the schedule's definition), so asking costs no Strava
request; ``--check`` spends exactly one (``GET /athlete``) to see whether the application works.
"""

from __future__ import annotations

import os
import sys
from datetime import date, datetime, timedelta

from strava_datastack import paths

# The project's own settings: (environment variable, default in words).
PROJECT_SETTINGS = (
    ("STRAVA_DATASTACK_DATA_DIR", "data/ in the repository"),
    ("STRAVA_DATASTACK_IMPORT_DIR", "<data folder>/import"),
    ("STRAVA_DATASTACK_HISTORY_START", "2021-01-01"),
    ("STRAVA_DATASTACK_LOOKBACK_DAYS", "7"),
    ("STRAVA_DATASTACK_SCHEDULE_TIMEZONE", "UTC"),
    ("DAGSTER_HOME", "not set: Dagster keeps no run history"),
)
# Gaps shown by name; the rest are counted.
GAPS_SHOWN = 5
ACTIVITY_ASSETS = (["strava", "activities"], ["files", "activities"])


def settings_lines() -> list[str]:
    from strava_datastack.strava.settings import SECRET_KEYS, setting_sources

    lines = ["Strava settings (where each comes from; secret values are never shown):"]
    sources = setting_sources()
    for source in sources:
        note = f" (overrides {source.overrides})" if source.overrides else ""
        secret = " [secret]" if source.key in SECRET_KEYS else ""
        lines.append(f"  {source.key.split('.')[-1]:<17} {source.origin}{note}{secret}")
    if any(s.origin == "not set" for s in sources):
        lines.append(f"  {'':<17} run `uv run strava-datastack connect` to set them")
    if paths.token_store_path().exists():
        lines.append(
            f"  {'':<17} Strava rotated the refresh token since; the newest is kept in "
            f"{paths.token_store_path()}"
        )
    lines.append("Project settings:")
    for name, default in PROJECT_SETTINGS:
        value = os.environ.get(name)
        where = f"{value} (environment)" if value else f"default: {default}"
        lines.append(f"  {name:<35} {where}")
    return lines


def application_lines(check: bool) -> list[str]:
    """The application's state: one ``GET /athlete`` when asked to, else none."""
    if not check:
        return [
            "Application: not checked (add --check to spend one request, GET /athlete)."
        ]
    from strava_datastack.strava.errors import StravaError, StravaInactiveAppError
    from strava_datastack.strava.settings import build_client

    try:
        athlete = build_client().get("athlete")
    except StravaInactiveAppError:
        return [
            "Application: INACTIVE. Strava answered 403 Application Inactive: since June 2026 an "
            "API application only works while its owner has a paid subscription. Until it is "
            "renewed, load your history from Strava's export archive instead (no API needed): "
            "README, 'Import your history from files'."
        ]
    except StravaError as err:
        return [f"Application: not working. {err}"]
    name = " ".join(str(athlete.get(k, "")) for k in ("firstname", "lastname")).strip()
    return [f"Application: active; logged in as {name or '?'} (athlete {athlete.get('id')})."]


def budget_lines(now: datetime) -> list[str]:
    from strava_datastack.strava.budget import Ledger

    ledger = Ledger(paths.budget_ledger_path())
    if not ledger.path.exists():
        return ["Budget today: no request recorded yet (the whole day's budget is left)."]
    state = ledger.load().rolled_to(now)
    left = max(state.read_limit_daily - state.read_usage_daily, 0)
    return [
        f"Budget today (UTC): {state.read_usage_daily} of {state.read_limit_daily} read requests "
        f"used, {left} left ({state.reserve()} of them kept for the daily refresh); this "
        f"15 minutes: {state.read_usage_15min} of {state.read_limit_15min}. The day resets at "
        "00:00 UTC."
    ]


def loaded_days() -> set[str] | None:
    """Days Dagster has marked loaded (from the API or the import folder), or None without an
    instance to ask."""
    if not os.environ.get("DAGSTER_HOME"):
        return None
    import dagster as dg

    instance = dg.DagsterInstance.get()
    days: set[str] = set()
    for key in ACTIVITY_ASSETS:
        days |= set(instance.get_materialized_partitions(dg.AssetKey(key)))
    return days


def gaps(days: set[str]) -> list[tuple[date, date]]:
    """The runs of days missing between the first and the last loaded day."""
    ordered = sorted(date.fromisoformat(d) for d in days)
    return [
        (before + timedelta(days=1), after - timedelta(days=1))
        for before, after in zip(ordered, ordered[1:], strict=False)
        if (after - before).days > 1
    ]


def history_lines(now: datetime) -> list[str]:
    from strava_datastack.defs.partitions import daily_partitions, history_start

    days = loaded_days()
    if days is None:
        return ["History loaded: unknown: set DAGSTER_HOME to the instance your runs use."]
    total = len(daily_partitions.get_partition_keys(current_time=now))
    if not days:
        return [f"History loaded: nothing yet (0 of {total} days since {history_start()})."]
    first, last = min(days), max(days)
    holes = gaps(days)
    missing = sum((end - start).days + 1 for start, end in holes)
    lines = [
        f"History loaded: {first} .. {last}: {len(days)} of {total} days since "
        f"{history_start()}; {missing} days missing in between"
        + (":" if holes else ".")
    ]
    for start, end in holes[:GAPS_SHOWN]:
        span = f"{start}" if start == end else f"{start} .. {end}"
        lines.append(f"  gap {span} ({(end - start).days + 1} days)")
    if len(holes) > GAPS_SHOWN:
        lines.append(f"  ... and {len(holes) - GAPS_SHOWN} more gaps")
    return lines


def failed_activity_lines() -> list[str]:
    """Activities the API runs could not load, and why (the ledger the ingest runs keep)."""
    from strava_datastack.strava.problems import list_activity_problems

    problems = list_activity_problems()
    if not problems:
        return ["Activities not loaded: none"]
    return [f"Activities not loaded: {len(problems)}"] + [
        f"  {problem.describe()}" for problem in problems
    ]


def schedule_lines(now: datetime) -> list[str]:
    from dagster._utils.schedules import cron_string_iterator

    from strava_datastack.defs.automation import DEFAULT_LOOKBACK_DAYS, daily_refresh

    timezone = daily_refresh.execution_timezone or "UTC"
    upcoming = next(cron_string_iterator(now.timestamp(), daily_refresh.cron_schedule, timezone))
    lookback = os.environ.get("STRAVA_DATASTACK_LOOKBACK_DAYS") or DEFAULT_LOOKBACK_DAYS
    return [
        f"Next scheduled run: {daily_refresh.name} at {upcoming:%Y-%m-%d %H:%M} {timezone} "
        f"(loads that day and the {lookback} before), if `dagster dev` (its daemon) is running."
    ]


def main(args) -> int:
    """The ``status`` subcommand (argparse namespace from cli.py)."""
    from strava_datastack.strava.budget import budget_clock

    if args.data_dir:
        os.environ["STRAVA_DATASTACK_DATA_DIR"] = args.data_dir
    now = budget_clock().now()  # Strava's day, or the emulator's when runs use its clock
    sections = [
        settings_lines(),
        application_lines(args.check),
        budget_lines(now),
        history_lines(now),
        failed_activity_lines(),
        schedule_lines(now),
    ]
    print("\n".join(line for section in sections for line in section))
    sys.stdout.flush()
    return 0
