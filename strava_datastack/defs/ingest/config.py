"""Run configuration of the ingest assets (set in the launchpad, or with -c on the CLI)."""

import dagster as dg

from strava_datastack.strava.budget import DEFAULT_MAX_WAIT_S, DEFAULT_RESERVE_SHARE
from strava_datastack.strava.plan import FetchOptions


class IngestConfig(dg.Config):
    """What the ingest run fetches and how it spends Strava's budget."""

    fetch_details: bool = True
    """GET /activities/{id}: description, calories, laps, splits, best efforts (1 request)."""
    fetch_streams: bool = True
    """GET /activities/{id}/streams: 1 Hz samples; never asked for manual entries (1 request)."""
    fetch_zones: bool = False
    """GET /activities/{id}/zones: Strava's own time in zones (1 request). Off by default:
    the dbt models compute time in zones from the streams and the athlete's zones."""
    fetch_details_for_imported: bool = False
    """GET /activities/{id} also for activities the import folder already holds (1 request
    each): adds Strava's own fields a file lacks (segment efforts, suffer score, best-effort PR
    ranks). Off by default: an imported activity then costs no request beyond the list pages."""
    daily_refresh_reserve: float = DEFAULT_RESERVE_SHARE
    """Share of the daily read budget that runs other than the daily refresh leave unspent."""
    reuse_listings: bool = True
    """Trust a recent listing of an old enough window instead of listing it again (set False to
    re-read Strava's list: that is what finds deletions and edits in old windows)."""
    max_window_wait_s: float = DEFAULT_MAX_WAIT_S
    """Longest wait for the next 15-minute window before the run stops instead."""

    def fetch_options(self) -> FetchOptions:
        return FetchOptions(
            details=self.fetch_details,
            streams=self.fetch_streams,
            zones=self.fetch_zones,
            details_for_imported=self.fetch_details_for_imported,
        )
