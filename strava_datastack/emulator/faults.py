"""Failure modes tests can switch on to exercise a client's error handling."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field

# The per-activity endpoints a fault can be aimed at ("detail" is GET /activities/{id}).
ACTIVITY_ENDPOINTS = ("detail", "streams", "laps", "zones")


@dataclass
class ActivityFault:
    """A fault aimed at one endpoint of one activity, as one bad record on Strava's side behaves.

    Attributes:
        endpoint: one of ACTIVITY_ENDPOINTS.
        status: the HTTP status answered instead of the data (e.g. 500, 503, 404); 0 answers
            the real data (use with `malformed` or `slow_seconds` alone).
        times: how many requests it spoils; None for every request until it is cleared.
        malformed: the body is cut short (not JSON) instead of answering `status`.
        slow_seconds: delay before answering (past the client's timeout: a request that hangs).
    """

    endpoint: str
    status: int = 500
    times: int | None = None
    malformed: bool = False
    slow_seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.endpoint not in ACTIVITY_ENDPOINTS:
            raise ValueError(
                f"unknown activity endpoint {self.endpoint!r}; "
                f"one of {', '.join(ACTIVITY_ENDPOINTS)}"
            )


@dataclass
class Faults:
    """Settable fault switches (plain attributes; counters are consumed thread-safely).

    Attributes:
        server_errors: The next N API responses are ``500 {"message":"error"}``.
        slow_seconds: Delay added to every API response.
        malformed: The next N API responses carry a body that is not valid JSON.
        inactive_app: Every call, OAuth included, is the 403 "Application Status Inactive"
            Fault Strava returns when the app owner has no paid subscription.
        revoked: The athlete revoked access: refreshes fail with 400 and API calls with 401.
        activities: Faults aimed at single activities (`aim_at_activity`), by activity id.
    """

    server_errors: int = 0
    slow_seconds: float = 0.0
    malformed: int = 0
    inactive_app: bool = False
    revoked: bool = False
    activities: dict[int, list[ActivityFault]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    FIELDS = ("server_errors", "slow_seconds", "malformed", "inactive_app", "revoked")

    def take(self, name: str) -> bool:
        """Consume one unit of a counter fault; True if it fired."""
        with self._lock:
            remaining = getattr(self, name)
            if remaining > 0:
                setattr(self, name, remaining - 1)
                return True
            return False

    def aim_at_activity(self, activity_id: int, endpoint: str, **fault: object) -> None:
        """Spoil `endpoint` of one activity (see ActivityFault for the keywords)."""
        aimed = ActivityFault(endpoint=endpoint, **fault)  # type: ignore[arg-type]
        with self._lock:
            self.activities.setdefault(int(activity_id), []).append(aimed)

    def clear_activity(self, activity_id: int) -> None:
        """The activity's records are healthy again."""
        with self._lock:
            self.activities.pop(int(activity_id), None)

    def take_activity(self, activity_id: int, endpoint: str) -> ActivityFault | None:
        """The fault that spoils this request, if one is aimed at it (a counted one is used up)."""
        with self._lock:
            for aimed in self.activities.get(activity_id, []):
                if aimed.endpoint != endpoint or aimed.times == 0:
                    continue
                if aimed.times is not None:
                    aimed.times -= 1
                return aimed
        return None

    def update(self, values: dict) -> None:
        """Set fields from a JSON object (control endpoint).

        ``"activities": [{"id": 123, "endpoint": "streams", "status": 500, "times": 2}, ...]``
        aims faults at activities; ``"clear_activities": [123]`` removes them.
        """
        casts = {
            "server_errors": int,
            "slow_seconds": float,
            "malformed": int,
            "inactive_app": bool,
            "revoked": bool,
        }
        for key in values:
            if key not in casts and key not in ("activities", "clear_activities"):
                raise ValueError(f"unknown fault {key!r}")
        for activity_id in values.get("clear_activities", []):
            self.clear_activity(int(activity_id))
        for aimed in values.get("activities", []):
            aimed = dict(aimed)
            self.aim_at_activity(int(aimed.pop("id")), str(aimed.pop("endpoint")), **aimed)
        with self._lock:
            for key, value in values.items():
                if key in casts:
                    setattr(self, key, casts[key](value))

    def as_dict(self) -> dict:
        state: dict = {name: getattr(self, name) for name in self.FIELDS}
        with self._lock:
            state["activities"] = [
                {"id": activity_id, **asdict(aimed)}
                for activity_id, faults in sorted(self.activities.items())
                for aimed in faults
            ]
        return state
