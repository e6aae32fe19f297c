"""The Evidence site builds offline from a warehouse snapshot and shows the warehouse's numbers.

The fixture warehouse (``helpers.fixture_warehouse``: a plausible athlete in the contract's raw
tables, then the project's own dbt models) is checked against the marts as they are, not against
a hand-made imitation of them. The site is built once per test session (``fixture_site``) and
shared with the browser test.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from strava_datastack import paths
from strava_datastack.defs.status import import_problems, write_import_problems
from strava_datastack.site import build as site_build
from strava_datastack.site import npm, serve
from strava_datastack_tests.helpers import (
    FIXTURE_BROKEN_FILE,
    FIXTURE_FAILED_ACTIVITY,
    FIXTURE_FILE_ONLY_RUN,
    fixture_site,
    fixture_warehouse,
)


@pytest.fixture(scope="module")
def built_site():
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    return fixture_site()


SOURCE_DIR = paths.EVIDENCE_DIR / "sources" / site_build.SOURCE_NAME


def run_source_queries(warehouse: Path) -> dict[str, tuple[list[str], list[tuple]]]:
    """Run every source query the way Evidence's DuckDB connector does (initialize.sql first,
    read-only) and return ``{table: (columns, rows)}``."""
    init = (SOURCE_DIR / "initialize.sql").read_text()
    results = {}
    for sql_file in sorted(SOURCE_DIR.glob("*.sql")):
        if sql_file.name == "initialize.sql":
            continue
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            con.execute(init)
            cursor = con.execute(sql_file.read_text())
            results[sql_file.stem] = ([d[0] for d in cursor.description], cursor.fetchall())
        except duckdb.Error as e:
            raise AssertionError(f"{sql_file.name} fails on the marts: {e}") from e
        finally:
            con.close()
    return results


def page_text(build: site_build.SiteBuild, route: str) -> str:
    """The visible text of a prerendered page, tags stripped and whitespace collapsed."""
    html = (build.site_dir / route.strip("/") / "index.html").read_text()
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_every_source_query_runs_on_the_marts():
    """The export reads columns the dbt marts really have (fast: no Evidence build)."""
    results = run_source_queries(fixture_warehouse())
    empty = {name for name, (_, rows) in results.items() if not rows}
    # The fixture exports a data status as the site asset does (helpers.fixture_data_status).
    assert not empty, f"source queries with no rows on the fixture: {empty}"
    columns, rows = results["units"]
    assert dict(zip(columns, rows[0], strict=True))["dist_unit"] == "km"


def rows_of(results, table: str) -> list[dict]:
    columns, rows = results[table]
    return [dict(zip(columns, r, strict=True)) for r in rows]


def test_each_sport_reads_in_its_own_units():
    """Runs in pace and steps per minute, rides in speed and pedal rpm, swims in pace per 100 m:
    the conversions of initialize.sql, checked against the marts' own numbers."""
    warehouse = fixture_warehouse()
    con = duckdb.connect(str(warehouse), read_only=True)
    marts = {
        activity_id: (group, kmh, cadence)
        for activity_id, group, kmh, cadence in con.execute(
            "select activity_id, sport_group, avg_speed_kmh, avg_cadence from marts.fct_activities"
        ).fetchall()
    }
    sample_cadence = {
        (activity_id, index): cadence
        for activity_id, index, cadence in con.execute(
            "select activity_id, sample_index, cadence_rpm from marts.fct_activity_stream_samples"
            " where cadence_rpm is not null"
        ).fetchall()
    }
    con.close()
    results = run_source_queries(warehouse)
    seen = set()
    for activity in rows_of(results, "activities"):
        group, kmh, cadence = marts[activity["activity_id"]]
        seen.add(group)
        label = activity["pace_or_speed"]
        if group == "run":
            assert activity["speed_kind"] == "pace" and label.endswith(" /km"), label
            assert activity["cadence_unit"] == "spm"
            assert activity["avg_cadence"] == (None if cadence is None else 2 * cadence)
        elif group == "ride":
            assert activity["speed_kind"] == "speed" and label.endswith(" km/h"), label
            assert activity["pace"] is None
            assert (activity["cadence_unit"], activity["avg_cadence"]) == ("rpm", cadence)
        elif group == "swim":
            assert activity["speed_kind"] == "swim_pace" and label.endswith(" /100 m"), label
            assert activity["swim_pace"] * 86400 == pytest.approx(360 / kmh)  # s per 100 m
            minutes, seconds = divmod(round(360 / kmh), 60)
            assert label == f"{minutes}:{seconds:02d} /100 m"
    assert {"run", "ride", "swim"} <= seen
    # The streams: a run's cadence doubles there too, a ride's does not.
    groups = set()
    for point in rows_of(results, "stream_points"):
        if point["cadence"] is not None:
            group = marts[point["activity_id"]][0]
            factor = 2 if group in ("run", "walk_hike") else 1
            strides = sample_cadence[point["activity_id"], point["sample_index"]]
            assert point["cadence"] == factor * strides, (group, point)
            groups.add(group)
    assert {"run", "ride"} <= groups


def test_a_file_only_activity_has_its_laps_splits_and_best_efforts_on_the_site():
    """The activity imported from a device file alone reaches the site's tables with what the
    file gives (laps) and what is computed from its samples (splits, best efforts)."""
    warehouse = fixture_warehouse()
    con = duckdb.connect(str(warehouse), read_only=True)
    (file_activity_id,) = con.execute(
        "select activity_id from files.activities where file_key = ?", [FIXTURE_FILE_ONLY_RUN]
    ).fetchone()
    (activity_id,) = con.execute(
        "select activity_id from marts.fct_activities where data_source = 'file'"
    ).fetchone()
    from_file = {
        table: con.execute(
            f"select count(*) from files.{table} where activity_id = ?", [file_activity_id]
        ).fetchone()[0]
        for table in ("activity_laps", "activity_splits", "activity_best_efforts")
    }
    con.close()
    results = run_source_queries(warehouse)

    def rows_of(table):
        columns, rows = results[table]
        found = [dict(zip(columns, r, strict=True)) for r in rows]
        return [r for r in found if r["activity_id"] == activity_id]

    (activity,) = rows_of("activities")
    assert (activity["data_source"], activity["file_key"]) == ("file", FIXTURE_FILE_ONLY_RUN)
    assert len(rows_of("laps")) == from_file["activity_laps"] > 1
    assert len(rows_of("splits")) == from_file["activity_splits"] > 1
    efforts = rows_of("best_efforts")
    assert len(efforts) == from_file["activity_best_efforts"] > 1
    # Strava never ranked them: every rank is computed from the loaded history (1-3, or none).
    con = duckdb.connect(str(warehouse), read_only=True)
    computed = dict(con.execute(
        "select effort_name, pr_rank from marts.fct_best_efforts"
        " where activity_id = ? and pr_rank_source = 'computed'", [activity_id],
    ).fetchall())  # fmt: skip
    con.close()
    assert {e["effort_name"]: e["pr_rank"] for e in efforts} == computed
    assert set(computed.values()) <= {1, 2, 3, None}
    columns, rows = results["coverage"]
    coverage = dict(zip(columns, rows[0], strict=True))
    assert coverage["file_activities"] == 1
    assert coverage["api_activities"] + 1 == coverage["activities"]


def test_import_problems_are_exported_even_when_there_are_none(tmp_path):
    """The site asset writes the table with no rows when every file imported: the page's query
    runs and finds nothing, rather than failing."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(fixture_warehouse(), warehouse)
    assert run_source_queries(warehouse)["files_not_imported"][1]  # the fixture's broken file
    write_import_problems(warehouse, [])
    assert run_source_queries(warehouse)["files_not_imported"][1] == []


def test_without_an_import_folder_there_is_nothing_to_report_and_no_index_is_made(data_dir):
    """An API-only athlete: the site asset finds no problems and leaves no index behind."""
    assert import_problems() == []
    assert not paths.import_index_path().exists()


def test_data_status_page_names_the_files_not_imported_and_the_sources(built_site):
    build, warehouse = built_site
    con = duckdb.connect(str(warehouse), read_only=True)
    (reason,) = con.execute(
        "select reason from site_status.import_problems where file_key = ?", [FIXTURE_BROKEN_FILE]
    ).fetchone()
    sources = dict(
        con.execute("select data_source, count(*) from marts.fct_activities group by 1").fetchall()
    )
    con.close()
    text = page_text(build, "/data-status/")
    assert "Files not imported" in text
    assert f"{FIXTURE_BROKEN_FILE} {reason}" in text.replace(" ,", ",")
    assert "Fix or remove each one: the next run picks the change up." in text
    assert "1 activity could not be loaded from Strava" in text
    yesterday = dt.date.today() - dt.timedelta(days=1)
    assert (
        f"{FIXTURE_FAILED_ACTIVITY} ({yesterday:%-d %b %Y}): GET activities/"
        f"{FIXTURE_FAILED_ACTIVITY}/streams answered 503."
    ) in text
    assert "retried by the next run covering its day" in text
    assert (
        f"{sources['api']:,} from the Strava API, {sources.get('archive', 0):,} from your Strava"
        f" export archive, {sources['file']:,} from device files"
    ) in text


def test_units_follow_measurement_preference(tmp_path):
    """An athlete who prefers feet gets miles, feet, mph and minutes per mile everywhere."""
    warehouse = tmp_path / "imperial.duckdb"
    shutil.copyfile(fixture_warehouse(), warehouse)
    con = duckdb.connect(str(warehouse))
    # The preference as loaded, and wherever dbt materialized a copy of it (views follow).
    for relation in ("strava.athlete", "staging.stg_strava__athlete", "marts.dim_athlete"):
        try:
            con.execute(f"update {relation} set measurement_preference = 'feet'")
        except duckdb.Error:
            pass  # a view, or not built yet
    metric = con.execute(
        "select distance_km, elevation_gain_m, pace_min_per_km from marts.fct_activities"
        " where sport_group = 'run' order by start_at_utc desc limit 1"
    ).fetchone()
    swim_kmh = dict(
        con.execute(
            "select activity_id, avg_speed_kmh from marts.fct_activities where sport_group = 'swim'"
        ).fetchall()
    )
    con.close()

    results = run_source_queries(warehouse)
    columns, rows = results["units"]
    units = dict(zip(columns, rows[0], strict=True))
    assert (units["dist_unit"], units["elev_unit"], units["pace_unit"]) == ("mi", "ft", "/mi")
    columns, rows = results["activities"]
    run = next(
        dict(zip(columns, r, strict=True)) for r in rows if r[columns.index("sport_group")] == "run"
    )
    assert run["distance"] == pytest.approx(metric[0] / 1.609344)
    assert run["elevation"] == pytest.approx(metric[1] * 3.280839895)
    assert run["pace"] * 1440 == pytest.approx(metric[2] * 1.609344)
    assert run["pace_or_speed"].endswith("/mi")
    assert units["swim_pace_unit"] == "/100 yd"
    swim = next(r for r in rows_of(results, "activities") if r["sport_group"] == "swim")
    seconds_per_100_yd = 0.09144 / swim_kmh[swim["activity_id"]] * 3600
    assert swim["swim_pace"] * 86400 == pytest.approx(seconds_per_100_yd)
    assert swim["pace_or_speed"].endswith(" /100 yd")


def test_home_page_shows_this_years_distance_and_count(built_site):
    build, warehouse = built_site
    con = duckdb.connect(str(warehouse), read_only=True)
    (as_of,) = con.execute("select max(as_of_date) from marts.rpt_sport_ytd_comparison").fetchone()
    km, count = con.execute(
        "select sum(distance_km), count(*) from marts.fct_activities where local_year = ?",
        [as_of.year],
    ).fetchone()
    con.close()

    text = page_text(build, "/")
    assert f"Distance this year (km) {km:,.0f}" in text
    assert f"Activities this year {count:,}" in text
    assert build.pages[0] == "/"
    assert {
        "/activities/",
        "/trends/",
        "/fitness/",
        "/records/",
        "/gear/",
        "/heatmap/",
        "/data-status/",
    } <= set(build.pages)
    # Published where the server looks: each page, and the Parquet the browser queries.
    for route in build.pages:
        assert (build.site_dir / route.strip("/") / "index.html").is_file(), route
    exported = {p.stem for p in (build.site_dir / "data").rglob("*.parquet")}
    assert {"activities", "sync_status"} <= exported, exported


def test_latest_activities_are_prerendered_and_the_rest_have_a_fallback(built_site):
    build, warehouse = built_site
    con = duckdb.connect(str(warehouse), read_only=True)
    latest = con.execute(
        "select activity_id, name from marts.fct_activities order by start_at_utc desc limit ?",
        [site_build.PRERENDERED_ACTIVITIES],
    ).fetchall()
    con.close()
    activity_pages = [
        p for p in build.pages if p.startswith("/activities/") and p != "/activities/"
    ]
    assert sorted(activity_pages) == sorted(f"/activities/{a}/" for a, _ in latest)
    activity_id, name = latest[0]
    assert name in page_text(build, f"/activities/{activity_id}/")
    assert (build.site_dir / "200.html").is_file()


def test_build_leaves_no_error_in_pages(built_site):
    build, _ = built_site
    for route in build.pages:
        text = page_text(build, route)
        assert "Error in query" not in text, route
        assert "Parser Error" not in text and "Catalog Error" not in text, route


def test_ensure_node_modules_runs_npm_ci_only_when_missing_or_stale(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(npm, "run_command", lambda args, **kw: calls.append(args))
    monkeypatch.setattr(npm, "npm_executable", lambda: "npm")
    (tmp_path / "package-lock.json").write_text('{"lockfileVersion": 3}')

    assert npm.ensure_node_modules(tmp_path, log=lambda _: None) is True  # missing
    assert calls and calls[-1][1] == "ci"
    (tmp_path / "node_modules" / "@evidence-dev" / "evidence").mkdir(parents=True)
    (tmp_path / "node_modules" / npm.LOCK_HASH_MARKER).write_text(npm._lock_hash(tmp_path))
    calls.clear()
    assert npm.ensure_node_modules(tmp_path, log=lambda _: None) is False  # fresh
    (tmp_path / "package-lock.json").write_text('{"lockfileVersion": 3, "changed": true}')
    assert npm.ensure_node_modules(tmp_path, log=lambda _: None) is True  # stale
    assert len(calls) == 1


# The stand-in's build does what Evidence's does around the data (evidence/svelte.config.js):
# it starts, waits for build_site to say the export is complete, and gives up if build_site's
# process is gone.
STAND_IN_BUILD = """
const fs = require('fs');
console.log('Custom svelte.config.js applied');
const timer = setInterval(() => {
    if (fs.existsSync(process.env.STRAVA_SITE_DATA_READY)) process.exit(0);
    try { process.kill(Number(process.env.STRAVA_SITE_BUILDER_PID), 0); }
    catch { console.log('build abandoned'); process.exit(1); }
}, 50);
"""


def write_package_json(project: Path, sources_script: str) -> None:
    (project / "build.js").write_text(STAND_IN_BUILD)
    scripts = {"sources": sources_script, "build:strict": "node build.js"}
    (project / "package.json").write_text(
        json.dumps({"name": "stand-in", "version": "0.0.0", "scripts": scripts})
    )


def stand_in_project(tmp_path: Path, sources_script: str) -> tuple[Path, Path]:
    """An Evidence project whose `npm run sources` is ``sources_script``, its packages "installed",
    and an empty snapshot to build from."""
    project = tmp_path / "evidence"
    (project / "node_modules" / "@evidence-dev" / "evidence").mkdir(parents=True)
    write_package_json(project, sources_script)
    (project / "package-lock.json").write_text('{"lockfileVersion": 3}')
    (project / "node_modules" / npm.LOCK_HASH_MARKER).write_text(npm._lock_hash(project))
    snapshot = tmp_path / "snapshot.duckdb"
    snapshot.write_bytes(b"")
    return project, snapshot


def test_build_site_fails_clearly(tmp_path):
    with pytest.raises(RuntimeError, match="No warehouse snapshot"):
        site_build.build_site(tmp_path / "missing.duckdb", tmp_path / "site", log=lambda _: None)
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    # An Evidence project whose source export fails: the error carries npm's output.
    script = "node -e \"console.log('Catalog Error: no marts'); process.exit(3)\""
    project, snapshot = stand_in_project(tmp_path, script)
    site_dir = tmp_path / "site"
    with pytest.raises(RuntimeError, match=r"(?s)npm run sources.*Catalog Error: no marts"):
        site_build.build_site(snapshot, site_dir, log=lambda _: None, evidence_dir=project)
    assert not site_dir.exists()  # nothing half-built was published

    # Evidence reports a failed source query but exits 0: the missing export is caught.
    script = "node -e \"console.log('  activities Error: Catalog Error: no marts')\""
    write_package_json(project, script)
    (project / "sources" / "strava").mkdir(parents=True)
    (project / "sources" / "strava" / "activities.sql").write_text("select 1")
    with pytest.raises(RuntimeError, match=r"(?s)could not export activities.*Catalog Error"):
        site_build.build_site(snapshot, site_dir, log=lambda _: None, evidence_dir=project)
    assert not site_dir.exists()


def _project_whose_export_takes_a_while(tmp_path):
    """An Evidence project whose source export logs its start and end, then fails."""
    script = "echo start >> events.txt; sleep 2; echo end >> events.txt; exit 3"
    return stand_in_project(tmp_path, script)


def test_builds_of_one_project_wait_for_each_other(tmp_path):
    """Two builds at once (a Dagster run and the CLI, say) would delete each other's output."""
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    import threading

    project, snapshot = _project_whose_export_takes_a_while(tmp_path)
    messages: list[str] = []

    def build(name):
        with pytest.raises(RuntimeError, match="npm run sources"):
            site_build.build_site(
                snapshot, tmp_path / name, log=messages.append, evidence_dir=project
            )

    builds = [threading.Thread(target=build, args=(f"site{i}",)) for i in range(2)]
    for thread in builds:
        thread.start()
    for thread in builds:
        thread.join()
    assert (project / "events.txt").read_text().split() == ["start", "end", "start", "end"]
    assert any("Another Evidence build" in m for m in messages)


def test_a_killed_build_keeps_the_project_until_its_npm_command_ends(tmp_path):
    """A run killed mid-build leaves npm running: the next build must not start beside it."""
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    import time

    project, snapshot = _project_whose_export_takes_a_while(tmp_path)
    killed = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from strava_datastack.site.build import build_site; "
            "build_site(sys.argv[1], sys.argv[2], evidence_dir=sys.argv[3])",
            str(snapshot),
            str(tmp_path / "killed_site"),
            str(project),
        ],
        stdout=subprocess.DEVNULL,
    )
    events = project / "events.txt"
    deadline = time.monotonic() + 60
    while not (events.exists() and events.read_text()):
        assert time.monotonic() < deadline, "the first build never started its export"
        time.sleep(0.05)
    killed.kill()
    killed.wait()

    with pytest.raises(RuntimeError, match="npm run sources"):
        site_build.build_site(snapshot, tmp_path / "site", log=lambda _: None, evidence_dir=project)
    assert events.read_text().split() == ["start", "end", "start", "end"]


def test_serve_site_answers_ranges_routes_and_fallback(tmp_path):
    import urllib.error
    import urllib.request

    (tmp_path / "index.html").write_text("home")
    (tmp_path / "200.html").write_text("spa shell")
    (tmp_path / "trends").mkdir()
    (tmp_path / "trends" / "index.html").write_text("trends")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "t.parquet").write_bytes(bytes(range(10)))
    server, url = serve.serve_site(tmp_path)
    try:

        def get(path, headers=None):
            request = urllib.request.Request(url + path, headers=headers or {})
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, response.headers, response.read()

        assert get("")[2] == b"home"
        assert get("trends/")[2] == b"trends"
        assert get("trends")[2] == b"trends"  # redirected to the route folder
        status, headers, body = get("data/t.parquet", {"Range": "bytes=2-5"})
        assert (status, body, headers["Content-Range"]) == (
            206,
            bytes([2, 3, 4, 5]),
            "bytes 2-5/10",
        )
        assert get("activities/123/")[2] == b"spa shell"  # not prerendered: the SPA fallback
        with pytest.raises(urllib.error.HTTPError) as missing:
            get("_app/missing.js")
        assert missing.value.code == 404
    finally:
        server.shutdown()
        server.server_close()


def test_serve_site_stays_inside_the_site_folder(tmp_path):
    import http.client
    import socket

    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "secret.txt").write_text("not for the site")
    site = tmp_path / "site"
    (site / "data").mkdir(parents=True)
    (site / "index.html").write_text("home")
    (site / "data" / "t.parquet").write_bytes(b"PAR1")
    (site / "data" / "leak.txt").symlink_to(outside / "secret.txt")
    (site / "elsewhere").symlink_to(outside, target_is_directory=True)
    server, url = serve.serve_site(site, request_timeout_s=1)
    host, port = server.server_address[:2]
    try:

        def status_of(path: str) -> tuple[int, bytes]:
            connection = http.client.HTTPConnection(host, port, timeout=10)
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                return response.status, response.read()
            finally:
                connection.close()

        assert status_of("/data/t.parquet") == (200, b"PAR1")
        assert status_of("/data/leak.txt")[0] == 404
        assert status_of("/elsewhere/secret.txt")[0] == 404
        assert b"not for the site" not in status_of("/elsewhere/")[1]
        assert status_of("/a" * 20_000)[0] == 404  # a name too long for the file system

        # A client that sends half a request and goes quiet is disconnected, freeing its thread.
        idle = socket.create_connection((host, port), timeout=10)
        idle.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        assert idle.recv(1024) == b"", "the server closed the silent connection"
        idle.close()
        assert status_of("/")[1] == b"home"
    finally:
        server.shutdown()
        server.server_close()


def test_the_site_swap_publishes_no_links(tmp_path):
    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "secret.txt").write_text("not for the site")
    built = tmp_path / "build"
    (built / "data").mkdir(parents=True)
    (built / "index.html").write_text("home")
    (built / "data" / "leak.txt").symlink_to(outside / "secret.txt")
    (built / "elsewhere").symlink_to(outside, target_is_directory=True)

    site_build._swap_into_place(built, tmp_path / "site")

    published = sorted(p.relative_to(tmp_path / "site") for p in (tmp_path / "site").rglob("*"))
    assert [str(p) for p in published] == ["data", "index.html"]


PAGES = ["/", "/activities/", "/trends/", "/fitness/", "/records/", "/gear/", "/heatmap/",
         "/data-status/"]  # fmt: skip


def test_every_page_says_what_history_is_loaded_and_has_a_real_title(built_site):
    """The banner on every page: the loaded span and its days of the history, with the gaps."""
    from strava_datastack_tests.helpers import FIXTURE_MISSING_DAYS

    build, warehouse = built_site
    con = duckdb.connect(str(warehouse), read_only=True)
    first, last, loaded, total, start = con.execute(
        "select first_loaded_date, last_loaded_date, partitions_loaded, partitions_total,"
        " history_start_date from site_status.data_status"
    ).fetchone()
    (activity_id,) = con.execute(
        "select activity_id from marts.fct_activities order by start_at_utc desc limit 1"
    ).fetchone()
    con.close()
    last_day = f"{last.day} {last:%b %Y}"
    first_day = f"{first.day} {first:%b}" + (f" {first:%Y}" if first.year != last.year else "")
    banner = (
        f"History loaded {first_day} - {last_day}: {loaded:,} of {total:,} days since "
        f"{start.day} {start:%b %Y} ({FIXTURE_MISSING_DAYS} days missing in between)."
    )
    for route in [*PAGES, f"/activities/{activity_id}/"]:
        assert banner in page_text(build, route), route
        html = (build.site_dir / route.strip("/") / "index.html").read_text()
        title = re.search(r"<title>([^<]*)</title>", html)[1]
        assert title not in ("", "Evidence"), route
    assert "Partial: not every day of this year is loaded" in page_text(build, "/")
