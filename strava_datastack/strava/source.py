"""The dlt source for Strava: one window of activities, fetched as the plan says, plus the athlete.

Requests go through the client (and with it the request budget). Per-activity data is fetched
oldest day first and only while the day's budget covers the whole activity, so a run that runs
out of budget stops between activities: everything fetched is loaded, nothing is thrown away,
and the next run picks up where this one stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import dlt
import pyarrow as pa

from strava_datastack.contract import RAW_TABLES
from strava_datastack.strava.budget import BudgetExhaustedError, RequestBudget
from strava_datastack.strava.client import StravaClient
from strava_datastack.strava.errors import StravaPayloadError, StravaRateLimitedError
from strava_datastack.strava.plan import ActivityWork, IngestPlan
from strava_datastack.strava.rows import (
    ATHLETE_COLUMNS,
    GEAR_COLUMNS,
    STREAM_KEYS,
    activity_zone_rows,
    athlete_stats_rows,
    athlete_zone_rows,
    detail_rows,
    pick,
    streams_table,
)


@dataclass
class FetchProgress:
    """What a run fetched: the source fills it, the asset reports from it."""

    done_ids: set[int] = field(default_factory=set)
    stopped: str | None = None  # why fetching stopped early, in plain words
    resets_at: Any = None
    # Called with the number of activities fetched so far, after each one (a run's progress).
    on_fetched: Callable[[int], object] | None = None


@dataclass
class ActivityBundle:
    """Everything fetched for one activity, split later into its tables."""

    activity_id: int
    detail: dict[str, list[dict[str, Any]]] | None = None
    streams: pa.Table | None = None
    zones: list[dict[str, Any]] | None = None


def _fetch(client: StravaClient, item: ActivityWork) -> ActivityBundle:
    bundle = ActivityBundle(item.activity_id)
    path = f"activities/{item.activity_id}"
    where = f"activity {item.activity_id}"
    if item.detail:
        detail = client.get(path, endpoint="activities/{id}")
        try:
            bundle.detail = detail_rows(detail)
            bundle.detail["details"][0]["summary_fingerprint"] = item.fingerprint
        except (KeyError, TypeError, AttributeError, ValueError, IndexError) as exc:
            raise StravaPayloadError(
                f"GET {path} ({where}) returned data of the wrong shape: "
                f"{type(exc).__name__} {exc}."
            ) from None
    if item.streams:
        streams = client.get(
            f"{path}/streams",
            params={"keys": ",".join(STREAM_KEYS), "key_by_type": "true"},
            endpoint="activities/{id}/streams",
        )
        try:
            bundle.streams = streams_table(item.activity_id, streams)
        except (KeyError, TypeError, AttributeError, ValueError, pa.ArrowException) as exc:
            raise StravaPayloadError(
                f"GET {path}/streams ({where}) returned data of the wrong shape: {exc}."
            ) from None
    if item.zones:
        zones = client.get(f"{path}/zones", endpoint="activities/{id}/zones")
        try:
            bundle.zones = activity_zone_rows(item.activity_id, zones)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise StravaPayloadError(
                f"GET {path}/zones ({where}) returned data of the wrong shape: {exc}."
            ) from None
    return bundle


@dataclass
class AthleteData:
    """The athlete-level rows: they belong to no day, so they are fetched whole or not at all."""

    athlete: dict[str, Any]
    gear: list[dict[str, Any]]
    zones: list[dict[str, Any]]
    stats: list[dict[str, Any]]


def fetch_athlete_data(client: StravaClient) -> AthleteData:
    """GET /athlete, /gear/{id} for each bike and shoe, /athlete/zones and the athlete's stats."""
    athlete = client.get("athlete", endpoint="athlete")
    if not isinstance(athlete, dict) or "id" not in athlete:
        raise StravaPayloadError("GET athlete returned something that is not an athlete.")
    gear = []
    for kind, key in (("bike", "bikes"), ("shoe", "shoes")):
        for summary in athlete.get(key) or []:
            item = client.get(f"gear/{summary['id']}", endpoint="gear/{id}")
            gear.append({**pick({**summary, **item}, GEAR_COLUMNS), "kind": kind})
    zones = athlete_zone_rows(client.get("athlete/zones", endpoint="athlete/zones"))
    stats = client.get(f"athletes/{athlete['id']}/stats", endpoint="athletes/{id}/stats")
    return AthleteData(
        athlete=pick(athlete, ATHLETE_COLUMNS),
        gear=gear,
        zones=zones,
        stats=athlete_stats_rows(stats),
    )


def athlete_request_cost(gear_count: int) -> int:
    """Requests `fetch_athlete_data` makes: athlete, each gear item, zones, stats."""
    return 1 + gear_count + 2


@dlt.source(name="strava", max_table_nesting=0)
def strava_source(
    client: StravaClient | None,
    plan: IngestPlan | None,
    budget: RequestBudget | None = None,
    progress: FetchProgress | None = None,
    athlete_data: AthleteData | None = None,
) -> Any:
    """Strava data for a planned window (see strava_datastack.strava.plan).

    Resources are lazy: nothing is requested until the pipeline runs, so the asset definitions
    build this source with no client and no plan at import time.

    Args:
        client: the client every request goes through.
        plan: the window's listing and per-activity work.
        budget: checked before each activity, so an activity is only started if it can finish.
        progress: filled with the activities fetched and why fetching stopped, if it did.
        athlete_data: the athlete, gear, zones and stats, fetched before the activities (see
            `fetch_athlete_data`), or None to leave them as they are.
    """
    progress = progress if progress is not None else FetchProgress()

    def table_hints(name: str) -> dict[str, Any]:
        """The contract's key, write disposition and column types for a raw table."""
        hints = RAW_TABLES[name].dlt_resource_hints()
        if name == "activity_streams":
            hints["columns"] = {}  # typed by its Arrow schema (rows.STREAM_SCHEMA)
        return hints

    @dlt.resource(**table_hints("activities"))
    def activities() -> Iterator[list[dict[str, Any]]]:
        yield plan.summaries

    @dlt.resource(**table_hints("activity_listings"))
    def activity_listings() -> Iterator[dict[str, Any]]:
        # Remembering the listing lets a continuation reuse it instead of paying for it again.
        if not plan.listing_reused and plan.listed_at is not None:
            yield {
                "window_start": plan.window_start.astimezone(UTC).replace(tzinfo=None),
                "window_end": plan.window_end.astimezone(UTC).replace(tzinfo=None),
                "listed_at": plan.listed_at.astimezone(UTC).replace(tzinfo=None),
                "activity_count": plan.activity_count,
                "list_requests": plan.list_requests,
            }

    @dlt.resource(name="activity_bundles", selected=False)
    def activity_bundles() -> Iterator[ActivityBundle]:
        for item in plan.work:
            if budget is not None and not budget.can_afford(item.cost):
                progress.stopped = budget.exhausted().args[0]
                progress.resets_at = budget.resets_at()
                return
            try:
                bundle = _fetch(client, item)
            except (BudgetExhaustedError, StravaRateLimitedError) as exc:
                # Keep what was fetched: the activity in flight is simply fetched again later.
                progress.stopped = str(exc)
                progress.resets_at = getattr(exc, "resets_at", None)
                return
            progress.done_ids.add(item.activity_id)
            if progress.on_fetched is not None:
                progress.on_fetched(len(progress.done_ids))
            yield bundle

    def _split(name: str, pick_rows):
        @dlt.transformer(data_from=activity_bundles, **table_hints(name))
        def split(bundle: ActivityBundle) -> Iterator[Any]:
            rows = pick_rows(bundle)
            if rows is not None and len(rows):
                yield rows

        return split

    def detail_part(part: str):
        return lambda bundle: bundle.detail[part] if bundle.detail else None

    activity_details = _split("activity_details", detail_part("details"))
    activity_laps = _split("activity_laps", detail_part("laps"))
    activity_splits = _split("activity_splits", detail_part("splits"))
    activity_best_efforts = _split("activity_best_efforts", detail_part("best_efforts"))
    activity_streams = _split("activity_streams", lambda bundle: bundle.streams)
    activity_zones = _split("activity_zones", lambda bundle: bundle.zones)

    def athlete_part(name: str, rows) -> Any:
        @dlt.resource(**table_hints(name))
        def part() -> Iterator[Any]:
            if athlete_data is not None:
                yield rows(athlete_data)

        return part

    athlete = athlete_part("athlete", lambda d: [d.athlete])
    gear = athlete_part("gear", lambda d: d.gear)
    athlete_zones = athlete_part("athlete_zones", lambda d: d.zones)
    athlete_stats = athlete_part("athlete_stats", lambda d: d.stats)

    return (
        activities,
        activity_listings,
        activity_bundles,
        activity_details,
        activity_laps,
        activity_splits,
        activity_best_efforts,
        activity_streams,
        activity_zones,
        athlete,
        gear,
        athlete_zones,
        athlete_stats,
    )
