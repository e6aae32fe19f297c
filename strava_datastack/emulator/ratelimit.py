"""Strava's per-application rate limits: 15-minute and daily windows, read and overall."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from .clock import EmulatorClock

QUARTER_SECONDS = 15 * 60
DAY_SECONDS = 24 * 60 * 60


@dataclass(frozen=True)
class Decision:
    """Outcome of counting one request."""

    allowed: bool
    headers: dict[str, str]


class RateLimiter:
    """Counts requests the way Strava does.

    Windows are aligned to the clock, not to the first request: the 15-minute window resets at
    :00/:15/:30/:45 UTC and the daily one at 00:00 UTC. Every counted request adds to both the
    overall and (for reads) the read counters, including requests that are answered 429, which
    is why a client that keeps hammering never gets out of the penalty box.

    Args:
        clock: The emulator clock the windows follow.
        read: ``(per_15_min, per_day)`` for reads (all GETs under /api/v3).
        overall: ``(per_15_min, per_day)`` for all API requests.
    """

    def __init__(
        self,
        clock: EmulatorClock,
        read: tuple[int, int] = (100, 1000),
        overall: tuple[int, int] = (200, 2000),
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.read_limits = (int(read[0]), int(read[1]))
        self.overall_limits = (int(overall[0]), int(overall[1]))
        self._quarter = self._day = -1
        self._read = [0, 0]
        self._overall = [0, 0]
        self.total_requests = 0
        self.rate_limited = 0

    def set_limits(
        self, read: tuple[int, int] | None = None, overall: tuple[int, int] | None = None
    ) -> None:
        """Change the limits, as Strava does when it grants an app a higher quota."""
        with self._lock:
            if read is not None:
                self.read_limits = (int(read[0]), int(read[1]))
            if overall is not None:
                self.overall_limits = (int(overall[0]), int(overall[1]))

    def _roll(self) -> None:
        now = self._clock.timestamp()
        quarter, day = now // QUARTER_SECONDS, now // DAY_SECONDS
        if quarter != self._quarter:
            self._quarter = quarter
            self._read[0] = self._overall[0] = 0
        if day != self._day:
            self._day = day
            self._read[1] = self._overall[1] = 0

    def hit(self, is_read: bool) -> Decision:
        """Count one API request and decide whether it is over the limit."""
        with self._lock:
            self._roll()
            over = any(
                used >= limit
                for used, limit in zip(self._overall, self.overall_limits, strict=True)
            )
            if is_read:
                over = over or any(
                    used >= limit for used, limit in zip(self._read, self.read_limits, strict=True)
                )
            self._overall[0] += 1
            self._overall[1] += 1
            if is_read:
                self._read[0] += 1
                self._read[1] += 1
            self.total_requests += 1
            if over:
                self.rate_limited += 1
            return Decision(allowed=not over, headers=self._headers())

    def peek_headers(self) -> dict[str, str]:
        """Headers describing current usage without counting a request."""
        with self._lock:
            self._roll()
            return self._headers()

    def _headers(self) -> dict[str, str]:
        # Casing as in the real recordings (Faraday and Go both show these spellings).
        return {
            "X-Ratelimit-Limit": "{},{}".format(*self.overall_limits),
            "X-Ratelimit-Usage": "{},{}".format(*self._overall),
            "X-Readratelimit-Limit": "{},{}".format(*self.read_limits),
            "X-Readratelimit-Usage": "{},{}".format(*self._read),
        }

    def usage(self) -> dict[str, int]:
        """Counts in the windows that contain the clock's current time."""
        with self._lock:
            self._roll()
            return {
                "read_15min": self._read[0],
                "read_daily": self._read[1],
                "overall_15min": self._overall[0],
                "overall_daily": self._overall[1],
                "total_requests": self.total_requests,
                "rate_limited": self.rate_limited,
            }

    def limits(self) -> dict[str, list[int]]:
        """Current limits as JSON-friendly lists."""
        with self._lock:
            return {"read": list(self.read_limits), "overall": list(self.overall_limits)}
