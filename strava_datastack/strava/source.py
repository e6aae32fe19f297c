"""The dlt source for Strava: one window of activities, fetched as the plan says, plus the athlete.

Requests go through the client (and with it the request budget). Per-activity data is fetched
oldest day first and only while the day's budget covers the whole activity, so a run that runs
out of budget stops between activities: everything fetched is loaded, nothing is thrown away,
and the next run picks up where this one stopped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import dlt
import pyarrow as pa

from strava_datastack.strava.budget import BudgetExhaustedError, RequestBudget
from strava_datastack.strava.client import StravaClient
from strava_datastack.strava.errors import StravaPayloadError, StravaRateLimitedError
from strava_datastack.strava.plan import ActivityWork, IngestPlan
from strava_datastack.strava.rows import (
    ACTIVITY_COLUMNS,
    ACTIVITY_ZONE_COLUMNS,
    ATHLETE_COLUMNS,
    BEST_EFFORT_COLUMNS,
    DETAIL_COLUMNS,
    GEAR_COLUMNS,
    LAP_COLUMNS,
    LISTING_COLUMNS,
    SPLIT_COLUMNS,
    STATS_COLUMNS,
    STREAM_KEYS,
    ZONE_COLUMNS,
    activity_zone_rows,
    athlete_stats_rows,
    athlete_zone_rows,
    detail_rows,
    hints,
    pick,
    streams_table,
)


@dataclass
class FetchProgress:
    """What a run fetched: the source fills it, the asset reports from it."""

    done_ids: set[int] = field(default_factory=set)
    stopped: str | None = None  # why fetching stopped early, in plain words
    resets_at: Any = None


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

    @dlt.resource(
        name="activities",
        primary_key="id",
        write_disposition="merge",
        columns=hints(ACTIVITY_COLUMNS),
    )
    def activities() -> Iterator[list[dict[str, Any]]]:
        yield plan.summaries

    @dlt.resource(
        name="activity_listings",
        primary_key=("window_start", "window_end"),
        write_disposition="merge",
        columns=hints(LISTING_COLUMNS),
    )
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
            yield bundle

    def _split(name: str, columns: dict[str, str], pick_rows, **table_hints):
        @dlt.transformer(
            data_from=activity_bundles, name=name, columns=hints(columns), **table_hints
        )
        def split(bundle: ActivityBundle) -> Iterator[Any]:
            rows = pick_rows(bundle)
            if rows is not None and len(rows):
                yield rows

        return split

    def detail_part(part: str):
        return lambda bundle: bundle.detail[part] if bundle.detail else None

    activity_details = _split(
        "activity_details",
        DETAIL_COLUMNS,
        detail_part("details"),
        primary_key="id",
        write_disposition="merge",
    )
    activity_laps = _split(
        "activity_laps",
        LAP_COLUMNS,
        detail_part("laps"),
        primary_key="id",
        write_disposition="merge",
    )
    activity_splits = _split(
        "activity_splits",
        SPLIT_COLUMNS,
        detail_part("splits"),
        primary_key=("activity_id", "units", "split"),
        write_disposition="merge",
    )
    activity_best_efforts = _split(
        "activity_best_efforts",
        BEST_EFFORT_COLUMNS,
        detail_part("best_efforts"),
        primary_key="id",
        write_disposition="merge",
    )
    # All rows of an activity are replaced together, so a re-run never duplicates samples.
    replace_by_activity = {
        "write_disposition": {"disposition": "merge", "strategy": "delete-insert"},
        "merge_key": "activity_id",
    }
    activity_streams = _split(
        "activity_streams", {}, lambda bundle: bundle.streams, **replace_by_activity
    )
    activity_zones = _split(
        "activity_zones", ACTIVITY_ZONE_COLUMNS, lambda bundle: bundle.zones, **replace_by_activity
    )

    def athlete_part(name: str, columns: dict[str, str], rows, primary_key) -> Any:
        @dlt.resource(
            name=name, primary_key=primary_key, write_disposition="merge", columns=hints(columns)
        )
        def part() -> Iterator[Any]:
            if athlete_data is not None:
                yield rows(athlete_data)

        return part

    athlete = athlete_part("athlete", ATHLETE_COLUMNS, lambda d: [d.athlete], "id")
    gear = athlete_part("gear", GEAR_COLUMNS, lambda d: d.gear, "id")
    athlete_zones = athlete_part(
        "athlete_zones", ZONE_COLUMNS, lambda d: d.zones, ("zone_type", "zone")
    )
    athlete_stats = athlete_part(
        "athlete_stats", STATS_COLUMNS, lambda d: d.stats, ("period", "sport")
    )

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
