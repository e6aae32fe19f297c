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
from strava_datastack.strava.budget import BudgetExhaustedError, RequestBudget, next_window
from strava_datastack.strava.client import StravaClient
from strava_datastack.strava.errors import (
    StravaAuthError,
    StravaConfigError,
    StravaError,
    StravaInactiveAppError,
    StravaNotFoundError,
    StravaPayloadError,
    StravaRateLimitedError,
)
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

# Errors about the account or the budget, not about one activity: they stop the run's fetching.
NOT_ABOUT_ONE_ACTIVITY = (
    StravaAuthError,
    StravaConfigError,
    StravaInactiveAppError,
    StravaRateLimitedError,
    BudgetExhaustedError,
)
# What parsing a body of the wrong shape raises.
WRONG_SHAPE = (KeyError, TypeError, AttributeError, ValueError, IndexError, pa.ArrowException)
# Activities in a row that fail for want of an answer (5xx, timeouts) before the run decides
# that Strava, not the activities, is in trouble, and stops instead of giving up on each.
STRAVA_TROUBLE_STREAK = 3


class ActivityFetchFailed(Exception):
    """One activity's request failed for good in this run; the rest of the window goes on.

    Attributes:
        item: the activity's planned work.
        request: e.g. ``GET activities/123/streams``.
        status: the HTTP status Strava answered, None if it did not answer.
        reason: the client's plain-words error.
        gone: Strava answered 404: the activity was deleted after the listing, or is private.
        transient: a 5xx or no answer (as opposed to data we cannot read).
    """

    def __init__(self, item: ActivityWork, request: str, error: StravaError) -> None:
        self.item = item
        self.request = request
        self.status = error.status
        self.reason = str(error)
        self.gone = isinstance(error, StravaNotFoundError)
        self.transient = error.transient
        super().__init__(f"{request} failed: {error}")


@dataclass
class FetchProgress:
    """What a run fetched: the source fills it, the asset reports from it."""

    done_ids: set[int] = field(default_factory=set)
    stopped: str | None = None  # why fetching stopped early, in plain words
    resets_at: Any = None
    failed: list[ActivityFetchFailed] = field(default_factory=list)  # retried by later runs
    gone: list[ActivityFetchFailed] = field(default_factory=list)  # 404: deleted or private
    # Called with the number of activities fetched so far, after each one (a run's progress).
    on_fetched: Callable[[int], object] | None = None


@dataclass
class ActivityBundle:
    """Everything fetched for one activity, split later into its tables."""

    activity_id: int
    detail: dict[str, list[dict[str, Any]]] | None = None
    streams: pa.Table | None = None
    zones: list[dict[str, Any]] | None = None


def _get_rows(client: StravaClient, item: ActivityWork, part: str, parse, params=None) -> Any:
    """GETs one of the activity's endpoints and parses it; a body that is not JSON or of the
    wrong shape is asked for once more (a response cut short in transit reads like that)."""
    path = f"activities/{item.activity_id}{part}"
    request = f"GET {path}"
    for attempt in (1, 2):
        try:
            body = client.get(path, params=params, endpoint=f"activities/{{id}}{part}")
            return parse(body)
        except NOT_ABOUT_ONE_ACTIVITY:
            raise
        except StravaPayloadError as exc:
            if attempt == 2:
                raise ActivityFetchFailed(item, request, exc) from None
        except StravaError as exc:
            raise ActivityFetchFailed(item, request, exc) from None
        except WRONG_SHAPE as exc:
            if attempt == 2:
                wrong = StravaPayloadError(
                    f"{request} returned data of the wrong shape twice: "
                    f"{type(exc).__name__} {exc}.",
                    status=200,
                )
                raise ActivityFetchFailed(item, request, wrong) from None
    raise AssertionError("unreachable")


def _fetch(client: StravaClient, item: ActivityWork) -> ActivityBundle:
    bundle = ActivityBundle(item.activity_id)
    if item.detail:

        def parse_detail(detail: Any) -> dict[str, list[dict[str, Any]]]:
            rows = detail_rows(detail)
            rows["details"][0]["summary_fingerprint"] = item.fingerprint
            return rows

        bundle.detail = _get_rows(client, item, "", parse_detail)
    if item.streams:
        bundle.streams = _get_rows(
            client,
            item,
            "/streams",
            lambda streams: streams_table(item.activity_id, streams),
            params={"keys": ",".join(STREAM_KEYS), "key_by_type": "true"},
        )
    if item.zones:
        bundle.zones = _get_rows(
            client, item, "/zones", lambda zones: activity_zone_rows(item.activity_id, zones)
        )
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
        trouble: list[ActivityFetchFailed] = []  # transient failures since the last success
        for item in plan.work:
            if budget is not None and not budget.can_afford(item.cost):
                progress.stopped = budget.exhausted().args[0]
                progress.resets_at = budget.resets_at()
                break
            try:
                bundle = _fetch(client, item)
            except (BudgetExhaustedError, StravaRateLimitedError) as exc:
                # Keep what was fetched: the activity in flight is simply fetched again later.
                progress.stopped = str(exc)
                progress.resets_at = getattr(exc, "resets_at", None)
                if isinstance(exc, StravaRateLimitedError) and budget is not None:
                    progress.resets_at = budget.resume_after_rate_limit(exc.reading)
                break
            except ActivityFetchFailed as failure:
                # One bad activity fails alone: note it and go on with the others.
                if failure.gone:
                    progress.gone.append(failure)
                elif failure.transient:
                    trouble.append(failure)
                    if len(trouble) >= STRAVA_TROUBLE_STREAK:
                        # Not these activities' fault: stop, and count none of them against
                        # their retries; the resume sensor tries again later.
                        progress.stopped = (
                            f"Strava failed {len(trouble)} activities in a row ("
                            + ", ".join(f.request for f in trouble)
                            + f"; last: {failure.reason}); it seems to be having trouble, so "
                            "the run stopped."
                        )
                        progress.resets_at = next_window(budget.clock.now()) if budget else None
                        trouble.clear()
                        return
                else:
                    progress.failed.append(failure)
                continue
            progress.failed.extend(trouble)
            trouble.clear()
            progress.done_ids.add(item.activity_id)
            if progress.on_fetched is not None:
                progress.on_fetched(len(progress.done_ids))
            yield bundle
        progress.failed.extend(trouble)

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
