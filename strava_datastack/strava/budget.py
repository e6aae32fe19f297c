"""Strava's request budget: one place that knows what is left and decides to wait or stop.

Strava limits each API application to 100 read requests per 15 minutes and 1,000 per day
(200/2,000 overall), and counts a request answered 429 too. Every request the project makes
passes `RequestBudget.before_request` and `after_response`, so the budget is spent on purpose:
a run waits for the next 15-minute window instead of hitting a 429, and stops cleanly when the
day's budget is gone.

The rate-limit headers on every response are the truth; between runs a small ledger file keeps
the last reading so a new run (or the resume sensor) knows the state before its first request.
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from strava_datastack.strava.errors import StravaError
from strava_datastack.strava.rate_limits import RateLimitReading

log = logging.getLogger(__name__)

WINDOW = timedelta(minutes=15)
DEFAULT_RESERVE_SHARE = 0.1
# A run may sit out one 15-minute window; longer waits are the resume sensor's job.
DEFAULT_MAX_WAIT_S = 16 * 60

EMULATOR_CLOCK_ENV = "STRAVA_DATASTACK_EMULATOR_CLOCK"


class BudgetExhaustedError(StravaError):
    """The day's budget (less the reserve kept for the daily refresh) is spent."""

    def __init__(self, resets_at: datetime, message: str) -> None:
        self.resets_at = resets_at
        super().__init__(message)


# --- clocks -------------------------------------------------------------------------------


class SystemClock:
    """Strava's windows follow UTC wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class RemoteEmulatorClock:
    """The emulator's clock, read and moved over its control API from another process.

    The emulator itself keeps time in `emulator.clock.EmulatorClock`; this is how a run (or the
    resume sensor) in another process uses it, so tests and benchmarks never really wait.

    Args:
        control_url: the emulator's control root, e.g. ``http://127.0.0.1:PORT/_emulator/``.
    """

    def __init__(self, control_url: str) -> None:
        self._url = control_url if control_url.endswith("/") else control_url + "/"

    def now(self) -> datetime:
        state = requests.get(self._url + "state", timeout=10).json()
        return datetime.fromisoformat(state["clock"]).astimezone(UTC)

    def sleep(self, seconds: float) -> None:
        requests.post(self._url + "clock", json={"advance_seconds": seconds}, timeout=10)


def budget_clock() -> SystemClock | RemoteEmulatorClock:
    """The clock Strava's windows are measured on: the emulator's when one is configured."""
    control_url = os.environ.get(EMULATOR_CLOCK_ENV)
    return RemoteEmulatorClock(control_url) if control_url else SystemClock()


def window_start(moment: datetime) -> datetime:
    """Start of the 15-minute window: windows reset at :00, :15, :30 and :45 UTC."""
    moment = moment.astimezone(UTC)
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


def next_window(moment: datetime) -> datetime:
    return window_start(moment) + WINDOW


def next_day(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


# --- the ledger -----------------------------------------------------------------------------


@dataclass
class BudgetState:
    """Limits and usage as of one moment (Strava's clock)."""

    read_limit_15min: int = 100
    read_limit_daily: int = 1000
    overall_limit_15min: int = 200
    overall_limit_daily: int = 2000
    read_usage_15min: int = 0
    read_usage_daily: int = 0
    overall_usage_15min: int = 0
    overall_usage_daily: int = 0
    as_of: str | None = None  # ISO time of the reading

    def rolled_to(self, now: datetime) -> BudgetState:
        """The state at `now`: usage of windows that have reset since `as_of` is zero."""
        state = BudgetState(**asdict(self))
        if state.as_of is not None:
            as_of = datetime.fromisoformat(state.as_of)
            if window_start(now) > window_start(as_of):
                state.read_usage_15min = state.overall_usage_15min = 0
            if now.astimezone(UTC).date() > as_of.astimezone(UTC).date():
                state.read_usage_daily = state.overall_usage_daily = 0
        state.as_of = now.isoformat()
        return state

    def reserve(self, share: float = DEFAULT_RESERVE_SHARE) -> int:
        """Read requests a day that backfills leave for the daily refresh (rounded up, so a
        small limit still keeps at least one)."""
        return math.ceil(self.read_limit_daily * share)

    def backfill_allowance(self, share: float = DEFAULT_RESERVE_SHARE) -> int:
        """Read requests a backfill may spend in a whole day: the limit less the reserve."""
        return self.read_limit_daily - self.reserve(share)


LIMIT_FIELDS = tuple(name for name in BudgetState.__annotations__ if "_limit_" in name)
USAGE_FIELDS = tuple(name for name in BudgetState.__annotations__ if "_usage_" in name)


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_moment(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


class Ledger:
    """The last known budget state in a small JSON file (written atomically, fsync'd)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def load(self, warn: Callable[[str], object] = log.warning) -> BudgetState:
        """The stored state; what cannot be trusted is reset, with a warning through `warn`.

        A ledger is only a hint until the first response: its rate-limit headers carry the real
        limits and usage. So a damaged ledger never stops a run: bad limits fall back to
        Strava's defaults, and usage without a valid time (or a bad figure) starts at zero.
        """
        try:
            raw = json.loads(self.path.read_bytes().decode("utf-8"))
        except FileNotFoundError:
            return BudgetState()
        except (OSError, ValueError):  # unreadable, not UTF-8, not JSON
            raw = None
        if not isinstance(raw, dict):
            warn(
                f"The budget ledger {self.path} holds no readable budget record; it starts "
                "afresh, and the next response's rate-limit headers give the real figures."
            )
            return BudgetState()
        state, reset = BudgetState(), []
        for name in LIMIT_FIELDS:
            value = raw.get(name, getattr(state, name))
            if _is_count(value) and value > 0:
                setattr(state, name, value)
            else:
                reset.append(name)
        usage = {name: raw.get(name, 0) for name in USAGE_FIELDS}
        as_of = raw.get("as_of")
        if all(_is_count(value) for value in usage.values()) and (
            as_of is None or _is_moment(as_of)
        ):
            for name, value in usage.items():
                setattr(state, name, value)
            state.as_of = as_of
        else:
            reset.append("usage (with as_of)")
        if reset:
            warn(
                f"The budget ledger {self.path} had values that cannot be trusted "
                f"({', '.join(reset)}): reset to the defaults; the next response's rate-limit "
                "headers give the real figures."
            )
        return state

    def save(self, state: BudgetState) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".ledger-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(asdict(state), handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


# --- the budget -----------------------------------------------------------------------------


class RequestBudget:
    """Decides before each request whether to send it now, wait for the next window, or stop.

    Args:
        ledger: where the state is kept between runs.
        clock: the clock Strava's windows are measured on.
        reserve_share: share of the daily read budget kept for the daily refresh; runs with
            `use_reserve=True` (the scheduled daily run) may spend it, backfills may not.
        use_reserve: whether this run may spend the reserve.
        max_wait_s: the longest a run waits for a 15-minute window before it stops instead.
        log_fn: where waits and stops are reported (a Dagster run's logger in assets).
    """

    def __init__(
        self,
        ledger: Ledger,
        clock: SystemClock | RemoteEmulatorClock,
        *,
        reserve_share: float = DEFAULT_RESERVE_SHARE,
        use_reserve: bool = False,
        max_wait_s: float = DEFAULT_MAX_WAIT_S,
        log_fn: Callable[[str], object] = log.info,
    ) -> None:
        self.ledger = ledger
        self.clock = clock
        self.reserve_share = reserve_share
        self.use_reserve = use_reserve
        self.max_wait_s = max_wait_s
        self._log = log_fn
        self.state = ledger.load(warn=log_fn).rolled_to(clock.now())
        self.requests_sent = 0
        self.rate_limited = 0
        self.waited_s = 0.0

    # What may be spent -------------------------------------------------------------------

    def reserve(self) -> int:
        return 0 if self.use_reserve else self.state.reserve(self.reserve_share)

    def daily_allowance(self) -> int:
        """Requests this run may still send today (read and overall limits, less the reserve)."""
        read_left = self.state.read_limit_daily - self.reserve() - self.state.read_usage_daily
        overall_left = self.state.overall_limit_daily - self.state.overall_usage_daily
        return max(0, min(read_left, overall_left))

    def window_allowance(self) -> int:
        read_left = self.state.read_limit_15min - self.state.read_usage_15min
        overall_left = self.state.overall_limit_15min - self.state.overall_usage_15min
        return max(0, min(read_left, overall_left))

    def can_afford(self, requests_needed: int) -> bool:
        """Whether today's allowance covers `requests_needed` (waits for windows allowed)."""
        self.state = self.state.rolled_to(self.clock.now())
        return requests_needed <= self.daily_allowance()

    def resets_at(self) -> datetime:
        return next_day(self.clock.now())

    def resume_after_rate_limit(self, reading: RateLimitReading | None) -> datetime:
        """When a run stopped by a 429 may go on: the next 15-minute window, unless the 429's
        headers (or, without them, what this run counted) say the day's budget is spent too."""
        now = self.clock.now()
        if reading is not None:
            daily_spent = (
                reading.read_usage_daily >= reading.read_limit_daily
                or reading.overall_usage_daily >= reading.overall_limit_daily
            )
        else:
            daily_spent = self.daily_allowance() < 1
        return next_day(now) if daily_spent else next_window(now)

    # Hooks for the client ------------------------------------------------------------------

    def before_request(self, endpoint: str) -> None:
        """Called by the client before each request: wait for a window, or stop for the day."""
        self.state = self.state.rolled_to(self.clock.now())
        if self.daily_allowance() < 1:
            raise self.exhausted()
        if self.window_allowance() < 1:
            now = self.clock.now()
            wait_s = (next_window(now) - now).total_seconds()
            if wait_s > self.max_wait_s:
                raise BudgetExhaustedError(
                    next_window(now),
                    f"The 15-minute request budget is spent and the next window is {wait_s:.0f} s "
                    "away, longer than a run may wait; the rest resumes later.",
                )
            self._log(
                f"Strava's 15-minute budget is spent ({self.state.read_usage_15min}/"
                f"{self.state.read_limit_15min} read requests); waiting {wait_s:.0f} s for the "
                f"window starting {next_window(now):%H:%M} UTC rather than risking a 429."
            )
            self.clock.sleep(wait_s)
            self.waited_s += wait_s
            self.state = self.state.rolled_to(self.clock.now())
        # Count it now; the response's headers will say the exact figure.
        self.state.read_usage_15min += 1
        self.state.read_usage_daily += 1
        self.state.overall_usage_15min += 1
        self.state.overall_usage_daily += 1
        self.requests_sent += 1

    def after_response(self, reading: RateLimitReading | None) -> None:
        """Called by the client after each response: the headers are the truth."""
        if reading is not None:
            self.state = BudgetState(
                read_limit_15min=reading.read_limit_15min,
                read_limit_daily=reading.read_limit_daily,
                overall_limit_15min=reading.overall_limit_15min,
                overall_limit_daily=reading.overall_limit_daily,
                read_usage_15min=reading.read_usage_15min,
                read_usage_daily=reading.read_usage_daily,
                overall_usage_15min=reading.overall_usage_15min,
                overall_usage_daily=reading.overall_usage_daily,
                as_of=self.clock.now().isoformat(),
            )
            if reading.read_usage_15min > reading.read_limit_15min or (
                reading.read_usage_daily > reading.read_limit_daily
            ):
                self.rate_limited += 1
        self.ledger.save(self.state)

    def exhausted(self) -> BudgetExhaustedError:
        resets = self.resets_at()
        reserve = self.reserve()
        kept = f", keeping {reserve} for the daily refresh" if reserve else ""
        return BudgetExhaustedError(
            resets,
            f"Today's Strava request budget is spent ({self.state.read_usage_daily}/"
            f"{self.state.read_limit_daily} read requests used{kept}). It resets at "
            f"{resets:%Y-%m-%d %H:%M} UTC.",
        )

    def summary(self) -> str:
        return (
            f"{self.requests_sent} requests sent; today {self.state.read_usage_daily}/"
            f"{self.state.read_limit_daily} read requests used, {self.daily_allowance()} left "
            f"for this run"
        )
