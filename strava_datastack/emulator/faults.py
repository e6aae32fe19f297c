"""Failure modes tests can switch on to exercise a client's error handling."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


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
    """

    server_errors: int = 0
    slow_seconds: float = 0.0
    malformed: int = 0
    inactive_app: bool = False
    revoked: bool = False
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

    def update(self, values: dict) -> None:
        """Set fields from a JSON object (control endpoint)."""
        casts = {
            "server_errors": int,
            "slow_seconds": float,
            "malformed": int,
            "inactive_app": bool,
            "revoked": bool,
        }
        with self._lock:
            for key, value in values.items():
                if key not in casts:
                    raise ValueError(f"unknown fault {key!r}")
                setattr(self, key, casts[key](value))

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.FIELDS}
