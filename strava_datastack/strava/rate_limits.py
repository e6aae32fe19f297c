"""What Strava's rate-limit headers say: read by the client, kept by the budget, carried by errors.

In a module of its own so that the client, the budget and the 429 error can all use it without
importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimitReading:
    """What Strava's rate-limit headers said on one response: the truth about the budget."""

    read_limit_15min: int
    read_limit_daily: int
    read_usage_15min: int
    read_usage_daily: int
    overall_limit_15min: int
    overall_limit_daily: int
    overall_usage_15min: int
    overall_usage_daily: int

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimitReading | None:
        try:
            read_limit = _pair(headers["X-ReadRateLimit-Limit"])
            read_usage = _pair(headers["X-ReadRateLimit-Usage"])
            limit = _pair(headers["X-RateLimit-Limit"])
            usage = _pair(headers["X-RateLimit-Usage"])
        except (KeyError, ValueError):
            return None
        return cls(*read_limit, *read_usage, *limit, *usage)


def _pair(value: str) -> tuple[int, int]:
    first, second = value.split(",")
    return int(first), int(second)
