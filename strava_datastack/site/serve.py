"""Serve a built Evidence site on localhost.

DuckDB-WASM in the browser reads the Parquet files with HTTP range requests, which the standard
library handler does not answer, and Evidence routes need folder and SPA fallbacks.
"""

from __future__ import annotations

import functools
import mimetypes
import posixpath
import threading
import urllib.parse
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# A client that sends half a request and then nothing would otherwise hold its thread forever.
REQUEST_TIMEOUT_S = 30.0


class _SiteHandler(SimpleHTTPRequestHandler):
    """Serves a built Evidence site: route folders, SPA fallback, and byte ranges.

    DuckDB-WASM in the browser reads the Parquet files with HTTP range requests, which the
    standard library handler does not answer. Only files inside the site folder are served:
    a link pointing out of it is treated as missing.
    """

    timeout = REQUEST_TIMEOUT_S  # socketserver sets it on each connection's socket

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        if self.server.verbose:  # type: ignore[attr-defined]
            super().log_message(format, *args)

    def end_headers(self) -> None:
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def _inside_site(self, candidate: Path) -> bool:
        """Whether `candidate` is a file whose real location (links followed) is in the site."""
        return candidate.is_file() and candidate.resolve().is_relative_to(self.directory)

    def _resolve(self) -> Path | None:
        root = Path(self.directory)
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        path = posixpath.normpath(path).lstrip("/")
        if path.startswith(".."):
            return None
        target = root / path if path not in ("", ".") else root
        candidates = [target, target / "index.html", target.with_name(target.name + ".html")]
        for candidate in candidates:
            if self._inside_site(candidate):
                return candidate
        return None

    def _fallback(self) -> Path | None:
        """A page for routes that were not prerendered (e.g. an activity nobody linked to)."""
        root = Path(self.directory)
        for name in ("200.html", "404.html", "index.html"):
            if self._inside_site(root / name):
                return root / name
        return None

    def send_head(self):  # noqa: C901 - one flat sequence of HTTP cases
        try:
            file = self._resolve()
        except OSError:  # e.g. a name longer than the file system allows: no such file here
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
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
    site_dir: Path,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    verbose: bool = False,
    request_timeout_s: float = REQUEST_TIMEOUT_S,
) -> tuple[ThreadingHTTPServer, str]:
    """Serve a built site from a daemon thread; returns the server (call ``shutdown()``) and URL.

    ``request_timeout_s``: how long a connection may stay silent before it is closed.
    """
    site_dir = Path(site_dir).resolve()
    if not (site_dir / "index.html").is_file():
        raise RuntimeError(f"No built site at {site_dir} (index.html missing): build it first.")

    handler = type("SiteHandler", (_SiteHandler,), {"timeout": request_timeout_s})
    server = ThreadingHTTPServer((host, port), functools.partial(handler, directory=str(site_dir)))
    server.daemon_threads = True
    server.verbose = verbose  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, name="evidence-site", daemon=True)
    thread.start()
    bound_host, bound_port = server.server_address[:2]
    shown_host = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
    return server, f"http://{shown_host}:{bound_port}/"
