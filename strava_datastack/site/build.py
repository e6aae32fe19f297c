"""Build the Evidence site from a warehouse snapshot, with the fix-ups its export needs.

Evidence only ever reads a snapshot copy of the warehouse that the caller made, because a DuckDB
read-only open blocks a writer for as long as it is held. The built site replaces the old one
only when the whole build succeeded.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from strava_datastack.paths import EVIDENCE_DIR
from strava_datastack.site.npm import (
    NPM_CI_TIMEOUT_S,
    Command,
    Log,
    ensure_node_modules,
    evidence_env,
    npm_executable,
)
from strava_datastack.warehouse import connect

SOURCE_NAME = "strava"
# Held for a whole build: Evidence builds in fixed folders of the project (.evidence/template,
# build/), so two builds at once (a Dagster run and the CLI, say) would delete each other's output.
BUILD_LOCK = ".strava-datastack-build.lock"
# Activity pages prerendered at build time (the newest ones); the others render in the browser.
# Each costs about 2 s of the build on 2 cores.
PRERENDERED_ACTIVITIES = 4

SOURCES_TIMEOUT_S = 15 * 60
BUILD_TIMEOUT_S = 30 * 60
# The file that tells the build's prerendering the data export is complete (svelte.config.js).
DATA_READY = "strava-site-data-ready"
# What Evidence prints once it has rewritten .evidence/template and Vite loads the config.
BUILD_STARTED = "Custom svelte.config.js applied"
TEMPLATE_TIMEOUT_S = 120


@dataclass
class SiteBuild:
    site_dir: Path
    pages: list[str]
    seconds: float
    npm_ci_ran: bool


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
        with connect(warehouse_snapshot, read_only=True) as con:
            rows = con.execute(
                "select activity_id from marts.fct_activities order by start_at_utc desc limit ?",
                [limit],
            ).fetchall()
    except duckdb.Error:
        return []
    return [f"/activities/{activity_id}/" for (activity_id,) in rows]


def _links(folder: str, names: list[str]) -> list[str]:
    """The symbolic links among ``names``: never published, since a link can point anywhere on
    the machine and the site folder is what `serve` hands out."""
    return [name for name in names if os.path.islink(os.path.join(folder, name))]


def _swap_into_place(built: Path, site_dir: Path) -> None:
    """Replace ``site_dir`` by ``built`` with two renames, so readers never see half a site."""
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = site_dir.parent / f".{site_dir.name}.new"
    old = site_dir.parent / f".{site_dir.name}.old"
    for leftover in (staging, old):
        if leftover.exists():
            shutil.rmtree(leftover)
    shutil.copytree(built, staging, symlinks=True, ignore=_links)
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
    env = evidence_env(
        {
            f"EVIDENCE_SOURCE__{SOURCE_NAME}__filename": filename,
            "STRAVA_SITE_PRERENDER_ROUTES": ",".join(routes),
        }
    )
    npm = npm_executable()
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

    def npm_run(script: str, what: str, timeout: float) -> Command:
        log(f"$ {npm} run {script}  (in {evidence_dir})")
        return Command(
            [npm, "run", script],
            cwd=evidence_dir,
            env=env,
            timeout=timeout,
            what=f"{what} (npm run {script})",
            keep_fds=(lock_fd,),
        )

    # The export and the build run side by side: Vite compiles the pages (most of a build, the
    # same whatever the data) while `evidence sources` exports the warehouse, and prerendering
    # waits for DATA_READY (evidence/svelte.config.js). Exporting first and building after took
    # 18 s longer for the demo's five years on 2 cores (README "Demo").
    data_ready = evidence_dir / ".evidence" / DATA_READY
    data_ready.unlink(missing_ok=True)
    env["STRAVA_SITE_DATA_READY"] = str(data_ready)
    env["STRAVA_SITE_BUILDER_PID"] = str(os.getpid())
    # build:strict fails on a query error instead of publishing a page that shows the error.
    build = npm_run("build:strict", "Evidence build", SOURCES_TIMEOUT_S + BUILD_TIMEOUT_S)
    try:
        # The build first rewrites .evidence/template (all but its static folder, where the
        # export writes): the export starts once Vite has started, when that is done.
        if not build.wait_for_line(BUILD_STARTED, log, timeout=TEMPLATE_TIMEOUT_S):
            if build.ended:
                build.wait(log)  # it failed before compiling anything: its own error
        output = npm_run("sources", "Evidence source export", SOURCES_TIMEOUT_S).wait(
            log, beside=(build,)
        )
        # `evidence sources` reports a failed query and carries on (exit code 0): check the
        # manifest.
        missing = _missing_exports(evidence_dir)
        if missing:
            raise RuntimeError(
                f"Evidence could not export {', '.join(missing)} (npm run sources); last "
                f"output:\n{output}"
            )
        _fill_empty_exports(evidence_dir, log=log)
        data_ready.parent.mkdir(parents=True, exist_ok=True)
        data_ready.touch()
        build.wait(log)
    finally:
        if build.proc.poll() is None:
            build.kill()  # the export failed: the build would wait for it in vain
        data_ready.unlink(missing_ok=True)
    built = evidence_dir / "build"
    if not (built / "index.html").is_file():
        raise RuntimeError(f"Evidence build finished but {built / 'index.html'} is missing.")
    _swap_into_place(built, site_dir)
    pages = list_pages(site_dir)
    seconds = round(time.monotonic() - started, 1)
    log(f"Built {len(pages)} pages into {site_dir} in {seconds} s.")
    return SiteBuild(site_dir=site_dir, pages=pages, seconds=seconds, npm_ci_ran=npm_ci_ran)


if __name__ == "__main__":  # pragma: no cover - manual use: python -m ... <snapshot> <site>
    import sys

    result = build_site(Path(sys.argv[1]), Path(sys.argv[2]))
    print(json.dumps({"pages": result.pages, "seconds": result.seconds}, indent=2))
