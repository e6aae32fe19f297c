"""Activities Strava would not give us: one small ledger, so one bad activity never blocks a window.

When one activity's detail or streams keep failing (a persistent 5xx, a body that is not JSON
twice, no answer at all), the rest of the window loads and the activity is written here with the
endpoint, the HTTP status and the reason. Its day stays unreported, so later runs covering that
day try it again; after `MAX_ATTEMPTS` runs it is listed as needing the user's attention and no
longer tried (nor blocks its day) until its summary changes on Strava. A 404 after the listing
showed it means the activity was deleted meanwhile or is private to someone else: it is recorded
as such, not fetched again, and its day completes.

SQLite next to the budget ledger (``<data dir>/activity_problems.sqlite``), one short connection
per call: the Data status page and ``strava-datastack status`` read it while a run writes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from strava_datastack import paths

# Runs that try a failing activity before it waits for the user instead of blocking its day.
MAX_ATTEMPTS = 3

RETRYING = "retrying"  # later runs try it again; its day is not reported as loaded
NEEDS_ATTENTION = "needs_attention"  # tried MAX_ATTEMPTS runs; skipped, its day is reported
DELETED_OR_PRIVATE = "deleted_or_private"  # Strava answered 404 after listing it

_SCHEMA = """
create table if not exists activity_problems (
    activity_id integer primary key,
    day text not null,
    endpoint text not null,
    status integer,
    reason text not null,
    attempts integer not null,
    state text not null,
    summary_fingerprint text not null,
    first_seen_at text not null,
    last_seen_at text not null
)
"""


@dataclass(frozen=True)
class ActivityProblem:
    """One activity the last runs could not load, and why.

    Attributes:
        activity_id: Strava's id of the activity.
        day: its UTC start day (the partition it blocks while `state` is `retrying`).
        endpoint: the request that failed, e.g. ``GET activities/123/streams``.
        status: the HTTP status of the last answer; None when Strava did not answer in time.
        reason: what went wrong, in plain words.
        attempts: runs that tried it and failed.
        state: `retrying`, `needs_attention` or `deleted_or_private`.
        summary_fingerprint: the listed summary it failed for; a changed summary is tried anew.
        first_seen_at, last_seen_at: UTC times of the first and the last failure.
    """

    activity_id: int
    day: date
    endpoint: str
    status: int | None
    reason: str
    attempts: int
    state: str
    summary_fingerprint: str
    first_seen_at: datetime
    last_seen_at: datetime

    @property
    def settled(self) -> bool:
        """Whether runs leave it alone (and its day may complete) instead of trying again."""
        return self.state in (NEEDS_ATTENTION, DELETED_OR_PRIVATE)

    def describe(self) -> str:
        """One line for a run's log and the CLI."""
        status = f"HTTP {self.status}" if self.status is not None else "no answer"
        what = {
            RETRYING: f"failed {self.attempts} of {MAX_ATTEMPTS} runs; the next run covering "
            f"{self.day} tries it again and that day stays unreported until then",
            NEEDS_ATTENTION: f"failed {self.attempts} runs; needs your attention: it is skipped "
            f"(its day {self.day} is reported without it) until its summary changes on Strava",
            DELETED_OR_PRIVATE: "deleted on Strava after it was listed, or private; not loaded",
        }[self.state]
        return (
            f"Activity {self.activity_id} ({self.day}): {self.endpoint} -> {status}: "
            f"{self.reason} It {what}."
        )


class ActivityProblemLedger:
    """The activities that failed, in a SQLite file (created on first write)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else paths.activity_problems_path()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=30)
        con.row_factory = sqlite3.Row
        con.execute("pragma journal_mode=wal")
        con.execute(_SCHEMA)
        return con

    def all(self) -> list[ActivityProblem]:
        """Every recorded problem, oldest day first; none if nothing ever failed."""
        if not self.path.exists():
            return []
        with closing(self._connect()) as con:
            rows = con.execute(
                "select * from activity_problems order by day, activity_id"
            ).fetchall()
        return [_problem(row) for row in rows]

    def settled_ids(self, fingerprints: dict[int, str]) -> set[int]:
        """Of these activities (id -> listed summary fingerprint), those runs must not fetch:
        given up on or gone, for the same summary (an edited activity is tried again)."""
        return {
            problem.activity_id
            for problem in self.all()
            if problem.settled
            and fingerprints.get(problem.activity_id) == problem.summary_fingerprint
        }

    def record_failure(
        self,
        activity_id: int,
        day: date,
        fingerprint: str,
        endpoint: str,
        status: int | None,
        reason: str,
        now: datetime,
    ) -> ActivityProblem:
        """One more run failed to load the activity: count it, and give up at MAX_ATTEMPTS."""
        return self._record(activity_id, day, fingerprint, endpoint, status, reason, now, None)

    def record_gone(
        self, activity_id: int, day: date, fingerprint: str, endpoint: str, now: datetime
    ) -> ActivityProblem:
        """Strava answered 404 for an activity its listing had: deleted meanwhile, or private."""
        reason = "Strava has no such activity any more (404)."
        return self._record(
            activity_id, day, fingerprint, endpoint, 404, reason, now, DELETED_OR_PRIVATE
        )

    def _record(self, activity_id, day, fingerprint, endpoint, status, reason, now, state):
        stamp = now.astimezone(UTC).isoformat()
        with closing(self._connect()) as con, con:
            row = con.execute(
                "select attempts, summary_fingerprint, first_seen_at from activity_problems "
                "where activity_id = ?",
                (activity_id,),
            ).fetchone()
            same = row is not None and row["summary_fingerprint"] == fingerprint
            attempts = row["attempts"] + 1 if same else 1
            first_seen = row["first_seen_at"] if same else stamp
            if state is None:
                state = NEEDS_ATTENTION if attempts >= MAX_ATTEMPTS else RETRYING
            con.execute(
                "insert or replace into activity_problems values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (activity_id, day.isoformat(), endpoint, status, reason, attempts, state,
                 fingerprint, first_seen, stamp),  # fmt: skip
            )
            row = con.execute(
                "select * from activity_problems where activity_id = ?", (activity_id,)
            ).fetchone()
        return _problem(row)

    def clear(self, activity_ids: Iterable[int]) -> None:
        """These activities loaded: they are no problem any more."""
        ids = [(int(i),) for i in activity_ids]
        if not ids or not self.path.exists():
            return
        with closing(self._connect()) as con, con:
            con.executemany("delete from activity_problems where activity_id = ?", ids)


def _problem(row: sqlite3.Row) -> ActivityProblem:
    return ActivityProblem(
        activity_id=row["activity_id"],
        day=date.fromisoformat(row["day"]),
        endpoint=row["endpoint"],
        status=row["status"],
        reason=row["reason"],
        attempts=row["attempts"],
        state=row["state"],
        summary_fingerprint=row["summary_fingerprint"],
        first_seen_at=datetime.fromisoformat(row["first_seen_at"]),
        last_seen_at=datetime.fromisoformat(row["last_seen_at"]),
    )


def list_activity_problems(path: Path | None = None) -> list[ActivityProblem]:
    """Activities the runs could not load (retrying, needing attention, deleted or private),
    oldest day first, from the data folder's ledger (or `path`). For `strava-datastack status`
    and the Data status page; an empty list when nothing ever failed."""
    return ActivityProblemLedger(path).all()
