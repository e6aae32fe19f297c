"""Build and serve the Evidence site: plain Python, no Dagster, so the CLI and tests share it.

Evidence (the pinned 39.x set, see ``evidence/package.json``) works offline because its DuckDB
WASM has Parquet built in; newer releases fetch the parquet extension from the internet and
hang. Evidence only ever reads a snapshot copy of the warehouse that the caller made, because a
DuckDB read-only open blocks a writer for as long as it is held.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import mimetypes
import os
import posixpath
import shutil
import subprocess
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from strava_datastack.paths import EVIDENCE_DIR

__all__ = [
    "EVIDENCE_DIR",
    "SiteBuild",
    "build_site",
    "ensure_node_modules",
    "list_pages",
    "serve_site",
]

SOURCE_NAME = "strava"
LOCK_HASH_MARKER = ".strava-datastack-lock.sha256"
# Held for a whole build: Evidence builds in fixed folders of the project (.evidence/template,
# build/), so two builds at once (a Dagster run and the CLI, say) would delete each other's output.
BUILD_LOCK = ".strava-datastack-build.lock"
# Activity pages prerendered at build time (the newest ones); the others render in the browser.
PRERENDERED_ACTIVITIES = 10

NPM_CI_TIMEOUT_S = 20 * 60
SOURCES_TIMEOUT_S = 15 * 60
BUILD_TIMEOUT_S = 30 * 60

Log = Callable[[str], object]


@dataclass
class SiteBuild:
    site_dir: Path
    pages: list[str]
    seconds: float
    npm_ci_ran: bool


def _lock_hash(evidence_dir: Path) -> str:
    return hashlib.sha256((evidence_dir / "package-lock.json").read_bytes()).hexdigest()


def _node_modules_fresh(evidence_dir: Path) -> bool:
    node_modules = evidence_dir / "node_modules"
    if not (node_modules / "@evidence-dev" / "evidence").is_dir():
        return False
    marker = node_modules / LOCK_HASH_MARKER
    if marker.exists():
        return marker.read_text().strip() == _lock_hash(evidence_dir)
    # Installed by hand (npm install / npm ci): npm's own record of the tree must be newer
    # than the lockfile, otherwise the lockfile changed since.
    hidden_lock = node_modules / ".package-lock.json"
    lock = evidence_dir / "package-lock.json"
    if hidden_lock.exists() and hidden_lock.stat().st_mtime >= lock.stat().st_mtime:
        marker.write_text(_lock_hash(evidence_dir))
        return True
    return False


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            "npm is not on PATH: install Node.js 20 (with npm) to build the Evidence site."
        )
    return npm


def _evidence_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            # Evidence reads its telemetry switch from evidence.settings.json in the working
            # directory; these keep npm and friends from phoning home as well.
            "DO_NOT_TRACK": "1",
            "NPM_CONFIG_UPDATE_NOTIFIER": "false",
            "NPM_CONFIG_FUND": "false",
            "NPM_CONFIG_AUDIT": "false",
            "NO_UPDATE_NOTIFIER": "1",
            "NO_COLOR": "1",
        }
    )
    env.setdefault("NODE_OPTIONS", "--max-old-space-size=4096")
    if extra:
        env.update(extra)
    return env


def _run(
    args: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    timeout: float,
    log: Log,
    what: str,
    keep_fds: tuple[int, ...] = (),
) -> str:
    """Run a command, stream its output to ``log``, and fail with its tail on error or timeout.

    ``keep_fds`` stay open in the command (the build lock: see ``_exclusive_build``).
    Returns the tail of the output.
    """
    log(f"$ {' '.join(args)}  (in {cwd})")
    tail: deque[str] = deque(maxlen=60)
    proc = subprocess.Popen(
        args,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
        pass_fds=keep_fds,
    )
    timed_out = threading.Event()

    def _kill_on_timeout() -> None:
        timed_out.set()
        try:
            os.killpg(proc.pid, 9)
        except ProcessLookupError:
            pass

    timer = threading.Timer(timeout, _kill_on_timeout)
    timer.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip()
            tail.append(line)
            # Vite lists every chunk it writes (hundreds of lines): keep those out of the log.
            if line and not line.lstrip().startswith((".svelte-kit/output/", "build/_app/")):
                log(line)
        rc = proc.wait()
    finally:
        timer.cancel()
        if proc.poll() is None:
            _kill_on_timeout()
            proc.wait()
    output = "\n".join(tail)
    if timed_out.is_set():
        raise RuntimeError(f"{what} did not finish within {timeout:.0f} s; last output:\n{output}")
    if rc != 0:
        raise RuntimeError(f"{what} failed (exit code {rc}); last output:\n{output}")
    return output


def ensure_node_modules(
    evidence_dir: Path = EVIDENCE_DIR, log: Log = print, *, keep_fds: tuple[int, ...] = ()
) -> bool:
    """Install the Evidence packages from the committed lockfile if they are missing or stale.

    Returns whether ``npm ci`` ran. ``npm ci`` installs exactly the lockfile, so a build on a
    fresh machine gets the offline-safe versions and not whatever the registry has today.
    """
    evidence_dir = Path(evidence_dir)
    if _node_modules_fresh(evidence_dir):
        return False
    log("Installing the Evidence packages from package-lock.json (npm ci, about a minute)...")
    _run(
        [_npm(), "ci", "--no-audit", "--no-fund", "--prefer-offline"],
        cwd=evidence_dir,
        env=_evidence_env(),
        timeout=NPM_CI_TIMEOUT_S,
        log=log,
        what="npm ci",
        keep_fds=keep_fds,
    )
    marker = evidence_dir / "node_modules" / LOCK_HASH_MARKER
    marker.parent.mkdir(exist_ok=True)
    marker.write_text(_lock_hash(evidence_dir))
    return True


def list_pages(site_dir: Path) -> list[str]:
    """The routes of a built site: every folder holding a prerendered ``index.html``."""
    site_dir = Path(site_dir)
    routes = []
    for html in site_dir.rglob("index.html"):
        rel = html.parent.relative_to(site_dir).as_posix()
        if rel.split("/")[0] in ("api", "_app", "data"):
            continue
        routes.append("/" if rel == "." else f"/{rel}/")
    return sorted(routes, key=lambda r: (r != "/", r))


# Evidence's column types -> Arrow types for the empty Parquet files below.
_ARROW_TYPES = {"number": "float64", "string": "string", "boolean": "bool", "date": "timestamp"}


def _fill_empty_exports(evidence_dir: Path, log: Log = print) -> list[str]:
    """Write an empty Parquet file for every exported table whose query returned no rows.

    Evidence lists such a table in its manifest but writes no file, and every page that reads it
    then fails, although "no rows" is normal (an athlete without a power meter has no power
    curve). The empty file has the table's columns, so queries run and components show nothing.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    template = evidence_dir / ".evidence" / "template"
    manifest_path = template / "static" / "data" / "manifest.json"
    if not manifest_path.is_file():
        return []
    manifest = json.loads(manifest_path.read_text())
    filled = []
    for files in manifest.get("renderedFiles", {}).values():
        for url in files:
            parquet = template / url
            if parquet.exists():
                continue
            schema_file = parquet.with_name(f"{parquet.stem}.schema.json")
            columns = json.loads(schema_file.read_text()) if schema_file.is_file() else []
            if not columns:
                raise RuntimeError(
                    f"Evidence exported no rows and no columns for {url}: cannot publish it empty."
                )
            fields = []
            for column in columns:
                kind = _ARROW_TYPES.get(column.get("evidenceType"), "string")
                arrow_type = pa.timestamp("ms") if kind == "timestamp" else pa.type_for_alias(kind)
                fields.append(pa.field(column["name"], arrow_type, nullable=True))
            schema = pa.schema(fields)
            parquet.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(schema.empty_table(), parquet)
            filled.append(parquet.stem)
    if filled:
        log(f"No rows for {', '.join(sorted(filled))}: published them empty.")
    return filled


def _missing_exports(evidence_dir: Path) -> list[str]:
    """Source queries of this project that Evidence's manifest does not list."""
    manifest_path = evidence_dir / ".evidence" / "template" / "static" / "data" / "manifest.json"
    listed = set()
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        listed = {Path(url).stem for url in manifest.get("renderedFiles", {}).get(SOURCE_NAME, [])}
    queries = sorted(
        f.stem
        for f in (evidence_dir / "sources" / SOURCE_NAME).glob("*.sql")
        if f.name != "initialize.sql"
    )
    return [name for name in queries if name not in listed]


def _latest_activity_routes(warehouse_snapshot: Path, limit: int) -> list[str]:
    """Routes of the newest activities, to prerender; none if the snapshot has no activities."""
    import duckdb

    try:
        con = duckdb.connect(str(warehouse_snapshot), read_only=True)
    except duckdb.Error:
        return []
    try:
        rows = con.execute(
            "select activity_id from marts.fct_activities order by start_at_utc desc limit ?",
            [limit],
        ).fetchall()
    except duckdb.Error:
        return []
    finally:
        con.close()
    return [f"/activities/{activity_id}/" for (activity_id,) in rows]


def _swap_into_place(built: Path, site_dir: Path) -> None:
    """Replace ``site_dir`` by ``built`` with two renames, so readers never see half a site."""
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = site_dir.parent / f".{site_dir.name}.new"
    old = site_dir.parent / f".{site_dir.name}.old"
    for leftover in (staging, old):
        if leftover.exists():
            shutil.rmtree(leftover)
    shutil.copytree(built, staging, symlinks=True)
    if site_dir.exists():
        site_dir.rename(old)
    staging.rename(site_dir)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def build_site(
    warehouse_snapshot: Path,
    site_dir: Path,
    *,
    log: Log = print,
    evidence_dir: Path = EVIDENCE_DIR,
) -> SiteBuild:
    """Export the warehouse snapshot into Evidence's Parquet and build the static site.

    ``warehouse_snapshot`` is a closed copy of the warehouse (never the live file). The built
    site replaces ``site_dir`` only when the whole build succeeded.
    """
    started = time.monotonic()
    warehouse_snapshot = Path(warehouse_snapshot).resolve()
    site_dir = Path(site_dir).resolve()
    evidence_dir = Path(evidence_dir).resolve()
    if not warehouse_snapshot.is_file():
        raise RuntimeError(f"No warehouse snapshot at {warehouse_snapshot}: nothing to build from.")
    with _exclusive_build(evidence_dir, log) as lock_fd:
        return _build_locked(warehouse_snapshot, site_dir, evidence_dir, log, started, lock_fd)


@contextlib.contextmanager
def _exclusive_build(evidence_dir: Path, log: Log):
    """Waits for any other build of this Evidence project, then holds it until the block ends.

    An OS file lock on an open file, which the npm commands keep open too: a build whose Python
    process is killed keeps the project locked until its orphaned npm command has exited, and
    releases it then. Yields the lock's file descriptor.
    """
    with open(evidence_dir / BUILD_LOCK, "a") as lock_file:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"Another Evidence build of {evidence_dir} is running; waiting for it to finish.")
            deadline = time.monotonic() + NPM_CI_TIMEOUT_S + SOURCES_TIMEOUT_S + BUILD_TIMEOUT_S
            while True:
                time.sleep(1)
                try:
                    fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"Another Evidence build of {evidence_dir} has held it for longer "
                            "than a build may take; stop that build and try again."
                        ) from None
        # No explicit unlock: closing the file releases the lock once no npm command holds it.
        yield lock_file.fileno()


def _build_locked(
    warehouse_snapshot: Path,
    site_dir: Path,
    evidence_dir: Path,
    log: Log,
    started: float,
    lock_fd: int,
) -> SiteBuild:
    npm_ci_ran = ensure_node_modules(evidence_dir, log=log, keep_fds=(lock_fd,))

    source_dir = evidence_dir / "sources" / SOURCE_NAME
    # The DuckDB connector joins `filename` onto the source folder, so an absolute path would
    # be mangled: give it the snapshot relative to that folder.
    filename = os.path.relpath(warehouse_snapshot, source_dir)
    routes = _latest_activity_routes(warehouse_snapshot, PRERENDERED_ACTIVITIES)
    env = _evidence_env(
        {
            f"EVIDENCE_SOURCE__{SOURCE_NAME}__filename": filename,
            "STRAVA_SITE_PRERENDER_ROUTES": ",".join(routes),
        }
    )
    npm = _npm()
    # Parquet left over from an earlier build (or a source query since removed) must not be
    # published: export everything afresh.
    shutil.rmtree(evidence_dir / ".evidence" / "template" / "static" / "data", ignore_errors=True)
    # Evidence copies its output over ./build without emptying it first, and SvelteKit keeps
    # the previous build's prerendered pages (e.g. activities of another warehouse) in the
    # template: start all three empty.
    shutil.rmtree(evidence_dir / "build", ignore_errors=True)
    template = evidence_dir / ".evidence" / "template"
    shutil.rmtree(template / "build", ignore_errors=True)
    shutil.rmtree(template / ".svelte-kit" / "output", ignore_errors=True)

    output = _run(
        [npm, "run", "sources"],
        cwd=evidence_dir,
        env=env,
        timeout=SOURCES_TIMEOUT_S,
        log=log,
        what="Evidence source export (npm run sources)",
        keep_fds=(lock_fd,),
    )
    # `evidence sources` reports a failed query and carries on (exit code 0): check the manifest.
    missing = _missing_exports(evidence_dir)
    if missing:
        raise RuntimeError(
            f"Evidence could not export {', '.join(missing)} (npm run sources); last output:\n"
            f"{output}"
        )
    _fill_empty_exports(evidence_dir, log=log)
    # build:strict fails on a query error instead of publishing a page that shows the error.
    _run(
        [npm, "run", "build:strict"],
        cwd=evidence_dir,
        env=env,
        timeout=BUILD_TIMEOUT_S,
        log=log,
        what="Evidence build (npm run build:strict)",
        keep_fds=(lock_fd,),
    )
    built = evidence_dir / "build"
    if not (built / "index.html").is_file():
        raise RuntimeError(f"Evidence build finished but {built / 'index.html'} is missing.")
    _swap_into_place(built, site_dir)
    pages = list_pages(site_dir)
    seconds = round(time.monotonic() - started, 1)
    log(f"Built {len(pages)} pages into {site_dir} in {seconds} s.")
    return SiteBuild(site_dir=site_dir, pages=pages, seconds=seconds, npm_ci_ran=npm_ci_ran)


class _SiteHandler(SimpleHTTPRequestHandler):
    """Serves a built Evidence site: route folders, SPA fallback, and byte ranges.

    DuckDB-WASM in the browser reads the Parquet files with HTTP range requests, which the
    standard library handler does not answer.
    """

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        if self.server.verbose:  # type: ignore[attr-defined]
            super().log_message(format, *args)

    def end_headers(self) -> None:
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def _resolve(self) -> Path | None:
        root = Path(self.directory)
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        path = posixpath.normpath(path).lstrip("/")
        if path.startswith(".."):
            return None
        target = root / path if path not in ("", ".") else root
        candidates = [target] if target.is_file() else []
        candidates += [target / "index.html", target.with_name(target.name + ".html")]
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        return None

    def _fallback(self) -> Path | None:
        """A page for routes that were not prerendered (e.g. an activity nobody linked to)."""
        root = Path(self.directory)
        for name in ("200.html", "404.html", "index.html"):
            if (root / name).is_file():
                return root / name
        return None

    def send_head(self):  # noqa: C901 - one flat sequence of HTTP cases
        file = self._resolve()
        status = HTTPStatus.OK
        if file is None:
            url_path = urllib.parse.urlsplit(self.path).path
            last = url_path.rstrip("/").rsplit("/", 1)[-1]
            is_asset = "." in last or url_path.startswith(("/_app/", "/data/", "/api/"))
            file = None if is_asset else self._fallback()
            if file is None:
                self.send_error(HTTPStatus.NOT_FOUND, "File not found")
                return None
        url_path = urllib.parse.urlsplit(self.path).path
        if file.name == "index.html" and not url_path.endswith("/") and "." not in url_path:
            # Evidence routes use trailing slashes; redirect like a static host does.
            self.send_response(HTTPStatus.MOVED_PERMANENTLY)
            query = urllib.parse.urlsplit(self.path).query
            self.send_header("Location", url_path + "/" + (f"?{query}" if query else ""))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        size = file.stat().st_size
        start, end = 0, size - 1
        range_header = self.headers.get("Range")
        if range_header and range_header.startswith("bytes="):
            spec = range_header[len("bytes=") :].split(",")[0].strip()
            first, _, last = spec.partition("-")
            try:
                if first:
                    start = int(first)
                    end = min(int(last), size - 1) if last else size - 1
                else:
                    start = max(size - int(last), 0)
            except ValueError:
                start, end = 0, size - 1
            if start >= size or start > end:
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            status = HTTPStatus.PARTIAL_CONTENT
        ctype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if file.suffix == ".arrow":
            ctype = "application/vnd.apache.arrow.file"
        handle = file.open("rb")
        handle.seek(start)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(end - start + 1))
        if status == HTTPStatus.PARTIAL_CONTENT:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        self._remaining = end - start + 1
        return handle

    def copyfile(self, source, outputfile) -> None:
        remaining = getattr(self, "_remaining", None)
        if remaining is None:
            return super().copyfile(source, outputfile)
        while remaining > 0:
            chunk = source.read(min(64 * 1024, remaining))
            if not chunk:
                break
            outputfile.write(chunk)
            remaining -= len(chunk)


def serve_site(
    site_dir: Path, host: str = "127.0.0.1", port: int = 0, *, verbose: bool = False
) -> tuple[ThreadingHTTPServer, str]:
    """Serve a built site from a daemon thread; returns the server (call ``shutdown()``) and URL."""
    site_dir = Path(site_dir).resolve()
    if not (site_dir / "index.html").is_file():
        raise RuntimeError(f"No built site at {site_dir} (index.html missing): build it first.")

    def handler(*args, **kwargs):
        return _SiteHandler(*args, directory=str(site_dir), **kwargs)

    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    server.verbose = verbose  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, name="evidence-site", daemon=True)
    thread.start()
    bound_host, bound_port = server.server_address[:2]
    shown_host = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
    return server, f"http://{shown_host}:{bound_port}/"


if __name__ == "__main__":  # pragma: no cover - manual use: python -m ... <snapshot> <site>
    import sys

    result = build_site(Path(sys.argv[1]), Path(sys.argv[2]))
    print(json.dumps({"pages": result.pages, "seconds": result.seconds}, indent=2))
