"""The import folder's index: which activity day each file covers, so nothing is parsed twice.

A folder of thousands of files is peeked once; afterwards a sensor tick only compares sizes,
modification times and hashes, and re-peeks just the files that are new or changed. A broken file
is recorded as a problem with its reason, so it is reported once rather than re-parsed every tick;
when the user fixes it (new size or mtime) it is peeked again.

SQLite in WAL mode, one short connection per call, so a sensor can read it while a run writes.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from strava_datastack.files.import_folder import ImportItem, ImportProblem

# peek(name, content) -> (start time, sport type or None). ``name`` is the file's name without
# ``.gz`` (it tells the format) and ``content`` its un-gzipped bytes, so the parsers never see a
# gzip or ZIP (bombs are stopped before them). Any exception it raises is the file's problem.
Peek = Callable[[str, bytes], tuple[datetime, str | None]]

_SCHEMA = """
create table if not exists import_items (
    key text primary key,
    size integer not null,
    mtime_ns integer,
    content_hash text,
    file_format text not null,
    activity_id integer,
    start_date text,  -- ISO 8601, UTC
    day text,  -- YYYY-MM-DD (UTC), the daily partition it belongs to
    sport_type text,
    status text not null check (status in ('ok', 'problem')),
    reason text,
    first_seen text not null,
    last_changed text not null
);
create index if not exists import_items_day on import_items (day);
"""


@dataclass(frozen=True)
class IndexedItem:
    key: str
    file_format: str
    activity_id: int | None
    start_date: datetime | None
    day: date | None
    sport_type: str | None
    status: str  # "ok" or "problem"
    reason: str | None
    first_seen: datetime
    last_changed: datetime


@dataclass
class IndexChanges:
    """What one refresh found: keys by kind of change and the UTC days those touch."""

    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    days: set[date] = field(default_factory=set)  # old AND new day of a changed file
    problems: list[IndexedItem] = field(default_factory=list)  # problems found in this refresh

    @property
    def any(self) -> bool:
        return bool(self.new or self.changed or self.removed)

    def partition_keys(self) -> list[str]:
        """The touched days as daily partition keys (``YYYY-MM-DD``), in order."""
        return [day.isoformat() for day in sorted(self.days)]


def _reason_of(exc: BaseException) -> str:
    """The plain-words reason of a failed peek: the parsers' ``reason`` when they give one."""
    reason = getattr(exc, "reason", None)
    return str(reason) if reason else (str(exc) or type(exc).__name__)


class FileIndex:
    """The index kept in one SQLite file (e.g. ``<data dir>/import_index.sqlite``)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as con:
            con.execute("pragma journal_mode=wal")
            con.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=30)
        con.row_factory = sqlite3.Row
        return con

    def refresh(self, items: Iterable[ImportItem], peek: Peek,
                refused: Iterable[ImportProblem] = ()) -> IndexChanges:
        """Brings the index up to date with ``items`` (a scan of the folder).

        Only new or changed items are peeked; an item listed in an export's activities.csv takes
        its start from the CSV and is not peeked at all. Vanished items are dropped. ``refused``
        (the scan's problems) are kept as problem rows too, so ``problems()`` is the one list of
        everything in the folder that does not load, with its reason.
        """
        changes = IndexChanges()
        now = datetime.now(UTC).isoformat()
        with closing(self._connect()) as con, con:
            known = {row["key"]: row for row in con.execute(
                "select key, size, mtime_ns, content_hash, day, first_seen from import_items")}
            seen: set[str] = set()
            for item in items:
                if item.key in seen:
                    continue
                seen.add(item.key)
                old = known.get(item.key)
                if old is not None and (old["size"], old["mtime_ns"], old["content_hash"]) == (
                        item.size, item.mtime_ns, item.content_hash):
                    continue
                row = self._examine(item, peek)
                con.execute(
                    "insert or replace into import_items values "
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (item.key, item.size, item.mtime_ns, item.content_hash, item.file_format,
                     item.activity_id, row["start_date"], row["day"], row["sport_type"],
                     row["status"], row["reason"], old["first_seen"] if old else now, now))
                (changes.changed if old is not None else changes.new).append(item.key)
                if old is not None and old["day"]:
                    changes.days.add(date.fromisoformat(old["day"]))
                if row["day"]:
                    changes.days.add(date.fromisoformat(row["day"]))
            for problem in refused:
                if problem.key in seen:
                    continue
                seen.add(problem.key)
                fingerprint = hashlib.sha1(problem.reason.encode()).hexdigest()[:16]
                old = known.get(problem.key)
                if old is not None and (old["size"], old["mtime_ns"], old["content_hash"]) == (
                        0, None, fingerprint):
                    continue
                con.execute(
                    "insert or replace into import_items values "
                    "(?, 0, null, ?, 'refused', null, null, null, null, 'problem', ?, ?, ?)",
                    (problem.key, fingerprint, problem.reason,
                     old["first_seen"] if old else now, now))
                (changes.changed if old is not None else changes.new).append(problem.key)
                if old is not None and old["day"]:
                    changes.days.add(date.fromisoformat(old["day"]))
            for key in known.keys() - seen:
                con.execute("delete from import_items where key = ?", (key,))
                changes.removed.append(key)
                if known[key]["day"]:
                    changes.days.add(date.fromisoformat(known[key]["day"]))
        touched = set(changes.new) | set(changes.changed)
        changes.problems = [p for p in self.problems() if p.key in touched]
        return changes

    @staticmethod
    def _examine(item: ImportItem, peek: Peek) -> dict:
        """Start, day and sport of one item: from its CSV row, or by peeking into the file."""
        start, sport, reason = item.csv_start, item.csv_sport_type, None
        if start is None:
            try:
                start, peeked_sport = peek(item.content_name, item.read_content())
                sport = peeked_sport or sport
                if start.tzinfo is None:  # activity files keep UTC (FIT always; GPX/TCX "Z")
                    start = start.replace(tzinfo=UTC)
            except Exception as exc:  # noqa: BLE001 (any failure is this file's problem)
                reason = _reason_of(exc)
        if reason is not None or start is None:
            return {"start_date": None, "day": None, "sport_type": sport, "status": "problem",
                    "reason": reason or "its start time cannot be read"}
        start = start.astimezone(UTC)
        return {"start_date": start.isoformat(), "day": start.date().isoformat(),
                "sport_type": sport, "status": "ok", "reason": None}

    def mark_problem(self, key: str, reason: str) -> None:
        """Records that an indexed file failed to load (its peek was fine, its parse was not).

        It then stays out of `items_for_days` until it changes, so a broken file is reported
        once instead of being parsed again by every run.
        """
        with closing(self._connect()) as con, con:
            con.execute(
                "update import_items set status = 'problem', reason = ? where key = ?",
                (reason, key),
            )

    def _select(self, where: str, params: tuple = ()) -> list[IndexedItem]:
        with closing(self._connect()) as con:
            rows = con.execute(f"select * from import_items where {where} order by start_date, key",
                               params).fetchall()
        return [IndexedItem(
            key=row["key"], file_format=row["file_format"], activity_id=row["activity_id"],
            start_date=datetime.fromisoformat(row["start_date"]) if row["start_date"] else None,
            day=date.fromisoformat(row["day"]) if row["day"] else None,
            sport_type=row["sport_type"], status=row["status"], reason=row["reason"],
            first_seen=datetime.fromisoformat(row["first_seen"]),
            last_changed=datetime.fromisoformat(row["last_changed"])) for row in rows]

    def items_for_days(self, start_day: date, end_day_exclusive: date) -> list[IndexedItem]:
        """The readable items whose activity starts on a UTC day in [start, end)."""
        return self._select("status = 'ok' and day >= ? and day < ?",
                            (start_day.isoformat(), end_day_exclusive.isoformat()))

    def problems(self) -> list[IndexedItem]:
        return self._select("status = 'problem'")

    def first_archive_day(self) -> date | None:
        """The UTC day of the earliest activity an export archive lists (its `activities.csv`
        rows carry Strava's ids; loose device files do not), None without an archive."""
        with closing(self._connect()) as con:
            (day,) = con.execute(
                "select min(day) from import_items where status = 'ok' and activity_id is not null"
            ).fetchone()
        return date.fromisoformat(day) if day else None

    def days(self) -> list[date]:
        """Every UTC day that has at least one readable item, in order."""
        with closing(self._connect()) as con:
            rows = con.execute("select distinct day from import_items "
                               "where status = 'ok' order by day").fetchall()
        return [date.fromisoformat(row[0]) for row in rows]
