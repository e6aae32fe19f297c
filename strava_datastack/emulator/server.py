"""The HTTP server: Strava API v3 routes, OAuth, rate limits, faults and control endpoints."""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .athlete import SyntheticAthlete
from .clock import EmulatorClock
from .faults import Faults
from .ratelimit import RateLimiter
from .rng import hex_token
from .streams import STREAM_KEYS
from .tokens import Consent, TokenIssuer, fault

API_PREFIX = "/api/v3"
JSON_TYPE = "application/json; charset=utf-8"
MAX_PER_PAGE = 200
DEFAULT_PER_PAGE = 30

INACTIVE = fault("Forbidden", "Application", "Status", "Inactive")
RATE_LIMITED = fault("Rate Limit Exceeded", "Application", "rate limit", "exceeded")
# Body of a real 401 for a bad token (strava-ruby-client authorization_error.yml).
UNAUTHORIZED = fault("Authorization Error", "Application", "", "invalid")
# What Strava answers once the athlete has revoked the app (brief: Athlete/access_token).
REVOKED = fault("Authorization Error", "Athlete", "access_token", "invalid")


@dataclass
class Response:
    """A response before it is written to the socket."""

    status: int
    body: object = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None

    def payload(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode()


class _BadRequest(Exception):
    def __init__(self, field_name: str) -> None:
        super().__init__(field_name)
        self.field_name = field_name


# What a fault aimed at an activity calls each of its endpoints (emulator.faults).
ACTIVITY_SUBPATHS = {None: "detail", "/streams": "streams", "/laps": "laps", "/zones": "zones"}


def _not_found(resource: str, field_name: str = "id") -> Response:
    return Response(404, fault("Record Not Found", resource, field_name, "invalid"))


class StravaEmulator:
    """A local Strava API v3 over a deterministic synthetic athlete.

    Args:
        seed: Chooses the athlete; the same seed gives byte-identical payloads.
        port: TCP port on 127.0.0.1 (0 picks a free one; read it back from ``port``).
        clock_start: Aware UTC datetime to freeze the emulator clock at (tests move it with
            ``clock.set``/``clock.advance``); ``None`` follows the wall clock.
        read_limits: ``(15-min, daily)`` read limits.
        overall_limits: ``(15-min, daily)`` overall limits.
        host: Interface to bind.
    """

    client_id = "163514"

    def __init__(
        self,
        seed: int = 1,
        port: int = 0,
        clock_start: datetime | None = None,
        read_limits: tuple[int, int] = (100, 1000),
        overall_limits: tuple[int, int] = (200, 2000),
        host: str = "127.0.0.1",
    ) -> None:
        self.seed = seed
        self.host = host
        self._requested_port = port
        self.clock = EmulatorClock(clock_start)
        self.limiter = RateLimiter(self.clock, read_limits, overall_limits)
        self.faults = Faults()
        self.athlete = SyntheticAthlete(seed)
        self.client_secret = hex_token(seed, "client_secret")
        self.initial_refresh_token = hex_token(seed, "refresh_token")
        self.tokens = TokenIssuer(
            self.clock, self.client_id, self.client_secret, self.initial_refresh_token
        )
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ----- lifecycle ---------------------------------------------------------------------

    def start(self) -> StravaEmulator:
        """Serve in a background daemon thread; returns self."""
        if self._server is None:
            self._server = _make_server(self, self.host, self._requested_port)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name=f"strava-emulator:{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> StravaEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----- addresses and configuration ---------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            return self._requested_port
        return self._server.server_address[1]

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}{API_PREFIX}/"

    @property
    def token_url(self) -> str:
        return f"{self.root_url}/oauth/token"

    def env(self) -> dict[str, str]:
        """Environment variables that point the project's dlt source at this emulator."""
        return {
            "SOURCES__STRAVA__CREDENTIALS__CLIENT_ID": self.client_id,
            "SOURCES__STRAVA__CREDENTIALS__CLIENT_SECRET": self.client_secret,
            "SOURCES__STRAVA__CREDENTIALS__REFRESH_TOKEN": self.initial_refresh_token,
            "SOURCES__STRAVA__CREDENTIALS__ACCESS_TOKEN_URL": self.token_url,
            "SOURCES__STRAVA__BASE_URL": self.base_url,
        }

    def set_limits(
        self, read: tuple[int, int] | None = None, overall: tuple[int, int] | None = None
    ) -> None:
        self.limiter.set_limits(read=read, overall=overall)

    def usage(self) -> dict[str, int]:
        return self.limiter.usage()

    def access_token(self) -> str:
        """A valid access token without going through OAuth (for tests of other things)."""
        return self.tokens.issue_for_tests()

    def edit_activity(self, activity_id: int, **changes: object) -> dict:
        """Edit an activity as a user would on strava.com (affects summary and detail)."""
        return self.athlete.edit(int(activity_id), **changes)

    def delete_activity(self, activity_id: int) -> None:
        self.athlete.delete(int(activity_id))

    def state(self) -> dict:
        return {
            "clock": self.clock.now().isoformat().replace("+00:00", "Z"),
            "clock_frozen": self.clock.frozen,
            "usage": self.usage(),
            "limits": self.limiter.limits(),
            "faults": self.faults.as_dict(),
            "athlete_id": self.athlete.athlete_id,
            "seed": self.seed,
        }

    # ----- request handling --------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Response:
        """Answer one HTTP request (transport-independent, so it is easy to reason about)."""
        parts = urlsplit(target)
        path = parts.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if path.startswith("/_emulator"):
            return self._control(method, path, body)
        if path == "/oauth/token":
            return self._oauth(method, query, headers, body)
        if path == "/oauth/authorize" and method == "GET":
            status, answer = self.tokens.authorize(query)
            if status == 302:
                return Response(302, headers={"Location": answer}, raw=b"")
            return Response(status, answer)
        if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            return self._api(method, path[len(API_PREFIX) :], query, headers, body)
        return Response(404, fault("Record Not Found", "resource", "path", "invalid"))

    def _oauth(self, method: str, query: dict, headers: dict, body: bytes) -> Response:
        if self.faults.inactive_app:
            return Response(403, INACTIVE)
        if method != "POST":
            return Response(404, fault("Record Not Found", "resource", "path", "invalid"))
        form = dict(query)
        form.update(_parse_body(headers, body))
        status, payload = self.tokens.refresh(
            form,
            revoked=self.faults.revoked,
            athlete=lambda: self.athlete.profile(self.clock.now()),
        )
        # The token endpoint carries no rate-limit headers in the recordings.
        return Response(status, payload, {"Content-Type": "application/json; charset=UTF-8"})

    def _api(self, method: str, path: str, query: dict, headers: dict, body: bytes) -> Response:
        token = _bearer(headers) or query.get("access_token")
        # Requests Strava cannot attribute to a working app are not counted, but every API
        # response still reports the app's current usage.
        if self.faults.inactive_app:
            return self._with_limits(Response(403, INACTIVE), self.limiter.peek_headers())
        if not self.tokens.valid(token):
            return self._with_limits(Response(401, UNAUTHORIZED), self.limiter.peek_headers())
        if self.faults.revoked:
            return self._with_limits(Response(401, REVOKED), self.limiter.peek_headers())
        decision = self.limiter.hit(is_read=method == "GET")
        if not decision.allowed:
            return self._with_limits(Response(429, RATE_LIMITED), decision.headers)
        if self.faults.slow_seconds > 0:
            time.sleep(self.faults.slow_seconds)
        if self.faults.take("server_errors"):
            return self._with_limits(Response(500, {"message": "error"}), decision.headers)
        try:
            response = self._route(method, path, query, headers, body)
        except _BadRequest as err:
            response = Response(400, fault("Bad Request", "Application", err.field_name, "invalid"))
        if self.faults.take("malformed"):
            response.raw = b'{"message":"truncated response'
        return self._with_limits(response, decision.headers)

    @staticmethod
    def _with_limits(response: Response, limit_headers: dict[str, str]) -> Response:
        response.headers.update(limit_headers)
        return response

    def _route(self, method: str, path: str, query: dict, headers: dict, body: bytes) -> Response:
        now = self.clock.now()
        athlete = self.athlete
        if method == "GET" and path == "/athlete":
            return Response(200, athlete.profile(now))
        if method == "GET" and path == "/athlete/activities":
            return Response(200, self._list_activities(query, now))
        if method == "GET" and path == "/athlete/zones":
            return Response(200, athlete.athlete_zones())
        if m := re.fullmatch(r"/athletes/(\d+)/stats", path):
            if method != "GET" or int(m.group(1)) != athlete.athlete_id:
                return _not_found("Athlete")
            return Response(200, athlete.stats(now))
        if m := re.fullmatch(r"/gear/([bg]\d+)", path):
            gear = athlete.gear_by_id(m.group(1))
            if method != "GET" or gear is None:
                return _not_found("Gear")
            return Response(200, athlete.gear_detail(gear, now))
        if m := re.fullmatch(r"/activities/(\d+)(/[a-z_]+)?(/[a-z_,]+)?", path):
            return self._activity(method, int(m.group(1)), m.group(2), m.group(3), query, now,
                                  headers, body)  # fmt: skip
        return Response(404, fault("Record Not Found", "resource", "path", "invalid"))

    def _exists(self, activity_id: int, now: datetime) -> dict | None:
        summary = self.athlete.summary(activity_id)
        if summary is None or _starts_after(summary, now):
            return None  # deleted, unknown, or not recorded yet on the emulator clock
        return summary

    def _activity(self, method, activity_id, sub, types, query, now, headers, body) -> Response:
        if self._exists(activity_id, now) is None:
            return _not_found("Activity")
        endpoint = ACTIVITY_SUBPATHS.get(sub) if method == "GET" and types is None else None
        aimed = self.faults.take_activity(activity_id, endpoint) if endpoint else None
        if aimed is not None:
            # One bad record on Strava's side: only this activity's endpoint misbehaves.
            if aimed.slow_seconds > 0:
                time.sleep(aimed.slow_seconds)
            if aimed.malformed:
                return Response(200, raw=b'{"id":%d,"name":"cut sh' % activity_id)
            if aimed.status == 404:
                return _not_found("Activity")
            if aimed.status == 429:  # e.g. another program spent the 15-minute window
                return Response(429, RATE_LIMITED)
            if aimed.status:
                return Response(aimed.status, {"message": "error"})
        return self._activity_data(method, activity_id, sub, types, query, now, headers, body)

    def _activity_data(self, method, activity_id, sub, types, query, now, headers, body):
        athlete = self.athlete
        if sub is None:
            if method == "PUT":
                changes = _parse_body(headers, body)
                allowed = {"name", "sport_type", "type", "gear_id", "description", "commute",
                           "trainer", "hide_from_home"}  # fmt: skip
                edits = {k: _coerce(v) for k, v in changes.items() if k in allowed}
                edits.pop("hide_from_home", None)
                athlete.edit(activity_id, **edits)
            elif method != "GET":
                return _not_found("resource", "path")
            return Response(200, athlete.detail(activity_id, now))
        if method != "GET":
            return _not_found("resource", "path")
        if sub == "/streams":
            return self._streams(activity_id, types, query)
        if sub == "/laps" and types is None:
            return Response(200, athlete.laps(activity_id))
        if sub == "/zones" and types is None:
            return Response(200, athlete.zones(activity_id))
        return _not_found("resource", "path")

    def _streams(self, activity_id: int, types: str | None, query: dict) -> Response:
        streams = self.athlete.streams(activity_id)
        if streams is None:
            # Manual entries have no streams; Strava answers 404 for them.
            return _not_found("Activity")
        requested = (types.strip("/") if types else query.get("keys", "")).split(",")
        wanted = {k.strip() for k in requested if k.strip()}
        # The series type (distance) always comes back, which is why a request without
        # ``keys`` returns only the distance stream.
        wanted.add("distance")
        size = len(streams["time"])
        selected = [k for k in STREAM_KEYS if k in wanted and k in streams]

        def entry(key: str) -> dict:
            return {
                "data": streams[key],
                "series_type": "distance",
                "original_size": size,
                "resolution": "high",
            }

        if query.get("key_by_type", "").lower() == "true":
            return Response(200, {key: entry(key) for key in selected})
        return Response(200, [{"type": key, **entry(key)} for key in selected])

    def _list_activities(self, query: dict, now: datetime) -> list[dict]:
        page = _int_param(query, "page", 1)
        per_page = _int_param(query, "per_page", DEFAULT_PER_PAGE)
        before = _int_param(query, "before", None)
        after = _int_param(query, "after", None)
        page = max(page, 1)
        per_page = min(max(per_page, 1), MAX_PER_PAGE)
        rows = self.athlete.visible(now)
        if before is not None or after is not None:
            lo = after if after is not None else float("-inf")
            hi = before if before is not None else float("inf")
            rows = [a for a in rows if lo < _start_epoch(a) < hi]
        rows = rows[::-1]  # newest first
        return rows[(page - 1) * per_page : page * per_page]

    # ----- control endpoints -------------------------------------------------------------

    def _control(self, method: str, path: str, body: bytes) -> Response:
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return Response(400, {"error": "body must be JSON"})
        try:
            if path == "/_emulator/state" and method == "GET":
                return Response(200, self.state())
            if path == "/_emulator/clock" and method == "POST":
                if "set" in payload:
                    self.clock.set(datetime.fromisoformat(payload["set"].replace("Z", "+00:00")))
                if "advance_seconds" in payload:
                    self.clock.advance(timedelta(seconds=float(payload["advance_seconds"])))
                return Response(200, self.state())
            if path == "/_emulator/limits" and method == "POST":
                read, overall = payload.get("read"), payload.get("overall")
                self.set_limits(
                    read=tuple(read) if read else None, overall=tuple(overall) if overall else None
                )
                return Response(200, self.state())
            if path == "/_emulator/consent" and method == "POST":
                # What the athlete does on the authorize page: {"deny": true} or
                # {"untick": ["activity:read_all"]}.
                self.tokens.consent = Consent(
                    deny=bool(payload.get("deny")), untick=set(payload.get("untick") or ())
                )
                return Response(200, self.state())
            if path == "/_emulator/faults" and method == "POST":
                self.faults.update(payload)
                return Response(200, self.state())
            if m := re.fullmatch(r"/_emulator/activities/(\d+)", path):
                activity_id = int(m.group(1))
                if method == "POST":
                    return Response(200, self.edit_activity(activity_id, **payload))
                if method == "DELETE":
                    self.delete_activity(activity_id)
                    return Response(204, raw=b"")
        except KeyError:
            return Response(404, {"error": "no such activity"})
        except (TypeError, ValueError) as err:
            return Response(400, {"error": str(err)})
        return Response(404, {"error": "unknown control endpoint"})


def _start_epoch(summary: dict) -> int:
    return int(datetime.fromisoformat(summary["start_date"]).timestamp())


def _starts_after(summary: dict, now: datetime) -> bool:
    return _start_epoch(summary) > now.timestamp()


def _int_param(query: dict, name: str, default: int | None) -> int | None:
    value = query.get(name)
    if value in (None, ""):
        return default
    try:
        return int(float(value))
    except ValueError:
        raise _BadRequest(name) from None


def _bearer(headers: dict[str, str]) -> str | None:
    value = headers.get("authorization", "")
    if value.lower().startswith("bearer "):
        return value[7:].strip()
    return None


def _parse_body(headers: dict[str, str], body: bytes) -> dict[str, str]:
    if not body:
        return {}
    if "json" in headers.get("content-type", ""):
        try:
            data = json.loads(body)
        except ValueError:
            return {}
        return {str(k): v for k, v in data.items()} if isinstance(data, dict) else {}
    return {k: v[-1] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}


def _coerce(value: object) -> object:
    if value in ("true", "false"):
        return value == "true"
    return value


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API behind its CDN
    # Headers and body go out in separate writes; without TCP_NODELAY, Nagle plus the
    # client's delayed ACK would add ~40 ms to every response.
    disable_nagle_algorithm = True

    def version_string(self) -> str:
        return "strava-emulator"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        emulator: StravaEmulator = self.server.emulator  # type: ignore[attr-defined]
        try:
            response = emulator.handle(self.command, self.path, headers, body)
        except Exception as err:  # a bug must not kill the connection silently
            response = Response(500, {"message": "error", "detail": repr(err)})
        payload = response.payload()
        self.send_response(response.status)
        self.send_header("Content-Type", response.headers.pop("Content-Type", JSON_TYPE))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass  # quiet: tests and the demo CLI print their own progress


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def _make_server(emulator: StravaEmulator, host: str, port: int) -> ThreadingHTTPServer:
    server = _Server((host, port), _Handler)
    server.emulator = emulator  # type: ignore[attr-defined]
    return server


def serve_forever(emulator: StravaEmulator) -> None:
    """Run the emulator in the foreground until interrupted (for ``strava-datastack emulator``).

    Blocks; Ctrl-C (KeyboardInterrupt) stops the server cleanly.
    """
    emulator.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
