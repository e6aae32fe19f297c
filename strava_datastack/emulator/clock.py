"""A controllable UTC clock shared by the emulator's data, tokens and rate-limit windows."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class EmulatorClock:
    """The emulator's notion of "now".

    Everything time-dependent in the emulator (which activities exist yet, token expiry,
    rate-limit windows, "recent" stats) reads this clock instead of the wall clock, so tests
    can jump across quarter hours, days or years instantly.

    Args:
        start: Aware datetime to freeze the clock at. The clock then only moves through
            :meth:`set` and :meth:`advance`, which keeps tests deterministic. ``None`` makes the
            clock follow the wall clock (a demo server should age like the real service);
            :meth:`set` and :meth:`advance` then shift it by an offset.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._frozen: datetime | None = _as_utc(start) if start is not None else None
        self._offset = timedelta(0)

    @property
    def frozen(self) -> bool:
        """Whether the clock stands still between explicit moves."""
        return self._frozen is not None

    def now(self) -> datetime:
        """Current emulator time, an aware UTC datetime."""
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return datetime.now(UTC) + self._offset

    def timestamp(self) -> int:
        """Current emulator time as integer epoch seconds (Strava's unit)."""
        return int(self.now().timestamp())

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (aware; naive values are taken as UTC)."""
        when = _as_utc(when)
        with self._lock:
            if self._frozen is not None:
                self._frozen = when
            else:
                self._offset = when - datetime.now(UTC)

    def advance(self, delta: timedelta | float) -> None:
        """Move forward by ``delta`` (a timedelta or seconds)."""
        if not isinstance(delta, timedelta):
            delta = timedelta(seconds=float(delta))
        with self._lock:
            if self._frozen is not None:
                self._frozen += delta
            else:
                self._offset += delta


def _as_utc(when: datetime) -> datetime:
    # Naive datetimes are a common slip in tests; Strava itself only speaks UTC.
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)
