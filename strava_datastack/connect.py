"""`strava-datastack connect`: authorize the project for a Strava account in one command.

It does what Strava's OAuth guide asks of a person by hand: open the authorize page, approve,
copy the code from the address the browser lands on, exchange it for a refresh token, and
store the token where dlt reads it. The browser is sent back to a one-request web server on
this machine (Strava accepts ``localhost`` callbacks on any port), so nothing is copied by hand.
"""

from __future__ import annotations

import getpass
import os
import secrets
import sys
import tempfile
import threading
import time
import webbrowser
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
import tomlkit

from strava_datastack import paths
from strava_datastack.strava.errors import (
    StravaConfigError,
    StravaInactiveAppError,
    auth_advice,
)
from strava_datastack.strava.settings import (
    env_name,
    read_secrets_toml,
    secrets_toml_path,
)
from strava_datastack.strava.tokens import TokenStore

STRAVA_ROOT = "https://www.strava.com"
API_PATH = "/api/v3/"
CALLBACK_PATH = "/exchange_token"
# A fixed default port, so the address Strava sends the browser to is the same every time.
DEFAULT_PORT = 8723
DEFAULT_TIMEOUT_S = 300
SCOPES = ("read_all", "activity:read_all", "profile:read_all")
# What each scope's box says on Strava's authorize page: the user has to find it to tick it.
SCOPE_BOXES = {
    "read_all": "View data about your private routes, segments and events",
    "activity:read_all": "View data about your private activities",
    "profile:read_all": "View your complete Strava profile",
}
SCOPE_NEEDS = {
    "read_all": "private segments and routes",
    "activity:read_all": "activities only you can see (without it they are missing from the "
    "history)",
    "profile:read_all": "heart-rate and power zones, and gear",
}


class ConnectError(Exception):
    """Connecting failed; the message says what happened and what to do."""


@dataclass(frozen=True)
class Endpoints:
    """Strava's addresses, or the emulator's: everything hangs off one root."""

    root: str

    @property
    def authorize_url(self) -> str:
        return f"{self.root}/oauth/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.root}/oauth/token"

    @property
    def api_base_url(self) -> str:
        return f"{self.root}{API_PATH}"

    @classmethod
    def from_base_url(cls, base_url: str | None) -> Endpoints:
        """From ``--base-url``, else the token URL the client is configured with, else Strava.

        Accepts a root (``http://127.0.0.1:8765``) or an API or token address below it.
        """
        url = base_url or os.environ.get(env_name("credentials.access_token_url")) or STRAVA_ROOT
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConnectError(
                f"--base-url {url!r} is not a web address: give e.g. {STRAVA_ROOT} or the "
                "emulator's http://127.0.0.1:<port>."
            )
        return cls(f"{parts.scheme}://{parts.netloc}")


@dataclass(frozen=True)
class Application:
    client_id: str
    client_secret: str

    def __repr__(self) -> str:  # never show the secret
        return f"Application(client_id={self.client_id!r})"


def find_application(
    client_id: str | None, client_secret: str | None, document: tomlkit.TOMLDocument
) -> Application:
    """The API application's id and secret: flags, then environment, then secrets.toml, then
    a prompt (only at a terminal: a script gets an error naming the flags instead)."""
    stored = document.get("sources", {}).get("strava", {}).get("credentials", {})

    def pick(name: str, flag: str | None, ask) -> str:
        value = flag or os.environ.get(env_name(f"credentials.{name}")) or stored.get(name)
        if value:
            return str(value).strip()
        if not sys.stdin.isatty():
            raise ConnectError(
                f"No {name} given: pass --{name.replace('_', '-')}, set "
                f"{env_name(f'credentials.{name}')}, or run at a terminal to be asked. Both are "
                "on https://www.strava.com/settings/api (create an application there first, "
                "Authorization Callback Domain: localhost)."
            )
        value = ask(f"{name.replace('_', ' ').capitalize()} (from strava.com/settings/api): ")
        if not value.strip():
            raise ConnectError(f"No {name} given; nothing was changed.")
        return value.strip()

    return Application(
        client_id=pick("client_id", client_id, input),
        client_secret=pick("client_secret", client_secret, getpass.getpass),
    )


def authorize_url(endpoints: Endpoints, client_id: str, redirect_uri: str, state: str) -> str:
    query = urlencode(
        {
            "client_id": client_id,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "approval_prompt": "force",
            "scope": ",".join(SCOPES),
            "state": state,
        },
        safe=":,/",
    )
    return f"{endpoints.authorize_url}?{query}"


class _Callback(BaseHTTPRequestHandler):
    """Answers the browser's one redirect and hands its query to the waiting command."""

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        parts = urlsplit(self.path)
        if parts.path != CALLBACK_PATH:
            self.send_error(404)  # e.g. the browser asking for /favicon.ico
            return
        answer = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.server.answer = answer  # type: ignore[attr-defined]
        page = (
            b"<!doctype html><title>strava-datastack</title><p>strava-datastack got Strava's "
            b"answer. You can close this tab and go back to the terminal.</p>"
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # the URL holds the code: keep it out of the terminal


def open_callback_server(port: int) -> HTTPServer:
    """The loopback server the browser is sent back to (port 0 picks a free one)."""
    try:
        server = HTTPServer(("127.0.0.1", port), _Callback)
    except OSError as err:
        raise ConnectError(
            f"Port {port} on this machine is taken ({err.strerror}): pass --port with another "
            "number (Strava accepts any port on localhost)."
        ) from None
    server.answer = None  # type: ignore[attr-defined]
    return server


def wait_for_redirect(server: HTTPServer, timeout_s: float) -> dict[str, str]:
    deadline = time.monotonic() + timeout_s
    while server.answer is None:  # type: ignore[attr-defined]
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ConnectError(
                f"No answer from the browser within {timeout_s:.0f} s; nothing was changed. Run "
                "`uv run strava-datastack connect` again and approve on Strava's page (or pass "
                "--timeout with more seconds)."
            )
        server.timeout = remaining
        server.handle_request()
    return server.answer  # type: ignore[attr-defined]


def check_answer(answer: dict[str, str], state: str) -> str:
    """The authorization code from Strava's redirect, after checking what was granted."""
    if answer.get("error") == "access_denied":
        raise ConnectError(
            "You clicked Cancel on Strava's page (access_denied), so the project has no access "
            "and nothing was changed. Run `uv run strava-datastack connect` again and click "
            "Authorize."
        )
    if answer.get("error"):
        raise ConnectError(f"Strava answered error={answer['error']}; nothing was changed.")
    if answer.get("state") != state:
        raise ConnectError(
            "The answer that reached this machine was not for this request (its state does "
            "not match); nothing was changed. Run `uv run strava-datastack connect` again."
        )
    granted = set(answer.get("scope", "").split(","))
    missing = [scope for scope in SCOPES if scope not in granted]
    if missing:
        boxes = "; ".join(
            f"{scope} (the box \"{SCOPE_BOXES[scope]}\", needed for {SCOPE_NEEDS[scope]})"
            for scope in missing
        )
        raise ConnectError(
            f"Strava granted {answer.get('scope') or 'no scope'}, without {boxes}. Nothing was "
            "changed. Run `uv run strava-datastack connect` again and leave every box ticked "
            "on Strava's page."
        )
    if not answer.get("code"):
        raise ConnectError("Strava's answer carried no code; run the command again.")
    return answer["code"]


def exchange_code(endpoints: Endpoints, app: Application, code: str) -> dict:
    """``POST /oauth/token`` with ``grant_type=authorization_code``: the tokens and athlete."""
    try:
        response = requests.post(
            endpoints.token_url,
            data={
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "code": code,
                "grant_type": "authorization_code",
            },
            timeout=60,
        )
    except requests.RequestException as err:
        raise ConnectError(
            f"Could not reach {endpoints.token_url} ({type(err).__name__}); check the network "
            "and run the command again."
        ) from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code == 403:
        raise ConnectError(str(StravaInactiveAppError.default()))
    if response.status_code in (400, 401):
        raise ConnectError(
            f"Strava refused to exchange the code ({response.status_code}). "
            + auth_advice(body)
            + " Nothing was changed."
        )
    if response.status_code != 200 or not body.get("refresh_token"):
        raise ConnectError(
            f"Strava answered {response.status_code} to the code exchange without a refresh "
            "token; nothing was changed. Try again later."
        )
    return body


def write_secrets(path: Path, document: tomlkit.TOMLDocument, values: dict[str, str | None]):
    """Sets keys below ``[sources.strava]`` (None removes one) and writes the file with mode
    0600, atomically: a crash leaves the old file or the new one, never half of it. Every
    other line of the file (comments, other sections) is kept as it was."""
    strava = document.setdefault("sources", tomlkit.table(True)).setdefault(
        "strava", tomlkit.table(True)
    )
    for key, value in values.items():
        table = strava
        *parents, name = key.split(".")
        for parent in parents:
            table = table.setdefault(parent, tomlkit.table())
        if value is None:
            table.pop(name, None)
        else:
            table[name] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secrets-", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)  # before the first byte: the secret is never world-readable
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(tomlkit.dumps(document))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _open_browser(url: str) -> None:
    # In a thread: a text-mode browser may take over the terminal; the command keeps listening.
    def run() -> None:
        try:
            webbrowser.open(url)
        except Exception:  # noqa: BLE001 - no browser is fine: the URL is printed
            pass

    threading.Thread(target=run, daemon=True).start()


def connect(
    *,
    client_id: str | None = None,
    client_secret: str | None = None,
    base_url: str | None = None,
    port: int = DEFAULT_PORT,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    open_browser: bool = True,
) -> Path:
    """Runs the whole authorization; returns the secrets file it wrote.

    Raises:
        ConnectError: with the plain-words reason; nothing was written then.
    """
    endpoints = Endpoints.from_base_url(base_url)
    path = secrets_toml_path()
    try:
        document = read_secrets_toml(path)
    except StravaConfigError as err:
        raise ConnectError(str(err)) from None
    app = find_application(client_id, client_secret, document)
    server = open_callback_server(port)
    try:
        redirect_uri = f"http://localhost:{server.server_address[1]}{CALLBACK_PATH}"
        state = secrets.token_urlsafe(16)
        url = authorize_url(endpoints, app.client_id, redirect_uri, state)
        print("Open this address, check that every box is ticked, and click Authorize:")
        print(f"  {url}", flush=True)
        if open_browser:
            _open_browser(url)
        print(f"Waiting for Strava to send the browser back to {redirect_uri} ...", flush=True)
        code = check_answer(wait_for_redirect(server, timeout_s), state)
    finally:
        server.server_close()
    tokens = exchange_code(endpoints, app, code)
    custom = endpoints.root != STRAVA_ROOT
    credentials = {
        "credentials.client_id": app.client_id,
        "credentials.client_secret": app.client_secret,
        "credentials.refresh_token": tokens["refresh_token"],
    }
    write_secrets(
        path,
        document,
        {
            **credentials,
            # Only another server (the emulator) is written down; Strava is the default.
            "credentials.access_token_url": endpoints.token_url if custom else None,
            "base_url": endpoints.api_base_url if custom else None,
        },
    )
    # A refresh token rotated for an earlier authorization must not outlive it: the store now
    # starts from this one, and the client keeps rotating it from here.
    TokenStore(paths.token_store_path()).save(
        app.client_id, tokens["refresh_token"], tokens["refresh_token"]
    )
    athlete = tokens.get("athlete") or {}
    name = " ".join(str(athlete.get(k, "")) for k in ("firstname", "lastname")).strip()
    print(f"Connected{f' as {name}' if name else ''} (athlete {athlete.get('id', '?')}).")
    print(f"Wrote client_id, client_secret and refresh_token to {path} (mode 0600).")
    hidden = overriding_variables(credentials)
    if hidden:
        print(
            f"Warning: {', '.join(hidden)} set in this shell hide what the file now holds: "
            "unset them, or runs keep using the old values."
        )
    return path


def overriding_variables(written: dict[str, str]) -> list[str]:
    """Environment variables that would hide what connect wrote into secrets.toml."""
    return [
        env_name(key)
        for key, value in written.items()
        if os.environ.get(env_name(key)) not in (None, "", value)
    ]


def main(args) -> int:
    """The ``connect`` subcommand (argparse namespace from cli.py)."""
    try:
        connect(
            client_id=args.client_id,
            client_secret=args.client_secret,
            base_url=args.base_url,
            port=DEFAULT_PORT if args.port is None else args.port,
            timeout_s=args.timeout,
            open_browser=not args.no_browser,
        )
    except ConnectError as err:
        print(str(err), file=sys.stderr)
        return 1
    print("Next: uv run dagster dev, then materialize the ingest group (see README).")
    return 0
