"""The built site in a real browser: every page renders, shows the warehouse's numbers, and the
browser itself queries the Parquet export when an input changes.

Headless Debian Chromium (``apt-get install -y chromium``) driven by Playwright, which is told to
use that browser and never downloads one. Requests that leave 127.0.0.1 (map tiles) are aborted,
so the test is hermetic. Screenshots of every page land in ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
import urllib.parse
from pathlib import Path

import duckdb
import pytest

from strava_datastack import paths
from strava_datastack.site.serve import serve_site
from strava_datastack_tests.helpers import (
    FIXTURE_BROKEN_FILE,
    FIXTURE_FILE_ONLY_RUN,
    fixture_site,
)

playwright_sync = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (uv sync --group dev)"
)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = paths.REPO_ROOT / "test-artifacts" / "screenshots"
TIMEOUT_MS = 45_000
# Evidence marks a failed chart, table or value with a red box.
ERROR_BOX = ".bg-red-50.border-red-200"


# What ECharts drew, per chart of the page: the charts render to canvas, so the tick labels are
# read from each chart's axis model (the labels it lays out) rather than from the DOM.
CHARTS_JS = """() => {
  const charts = Object.values(window[Symbol.for('__evidence-chart-window-debug__')] || {});
  return charts.filter((c) => !c.isDisposed() && c.getOption()).map((c) => {
    const option = c.getOption();
    const model = c.getModel();
    const axis = (kind) => {
      const component = model.getComponent(kind, 0);
      if (!component || !component.axis) return null;
      // the labels ECharts lays out, less the first or last when the chart hides it
      // as drawn: a year tick of a time axis is rich text, '{primary|2025}' draws '2025'
      let labels = component.axis.getViewLabels()
        .map((l) => l.formattedLabel.replace(/^\{\w+\|(.*)\}$/, '$1'));
      if (component.get('axisLabel.showMinLabel') === false) labels = labels.slice(1);
      if (component.get('axisLabel.showMaxLabel') === false) labels = labels.slice(0, -1);
      return { type: component.axis.type, extent: component.axis.scale.getExtent(), labels };
    };
    return {
      title: (option.title && option.title[0] && option.title[0].text) || '',
      x: axis('xAxis'),
      y: axis('yAxis'),
      legend: Boolean(option.legend && option.legend[0] && option.legend[0].show),
      series: model.getSeries().map((s) => {
        const style = s.getData().getVisual('style') || {};
        return {
          name: s.name,
          type: s.subType,
          points: s.getData().count(),
          symbols: s.get('showSymbol') !== false && s.get('symbol') !== 'none',
          color: String(style.stroke || style.fill || s.get('itemStyle.color')),
        };
      }),
    };
  });
}"""
MONTHS = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}


def seconds_of(label: str) -> int:
    """'1:05:00' or '4:30' (as the time and pace formats print) -> seconds."""
    parts = [int(p) for p in label.split(":")]
    return sum(p * 60**i for i, p in enumerate(reversed(parts)))


def hms(seconds: float) -> str:
    """Seconds as Evidence's '[h]:mm:ss' format shows them."""
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


@pytest.fixture(scope="module")
def site():
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed")
    build, warehouse = fixture_site()
    server, url = serve_site(build.site_dir)
    yield build, warehouse, url
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def wh(site):
    """Run SQL on the fixture warehouse (read-only)."""
    _, warehouse, _ = site
    con = duckdb.connect(str(warehouse), read_only=True)
    yield lambda sql, *params: con.execute(sql, list(params)).fetchall()
    con.close()


@pytest.fixture(scope="module")
def browser_context(site):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    playwright_sync.expect.set_options(timeout=TIMEOUT_MS)
    user_data_dir = tempfile.mkdtemp(prefix="chromium-profile-")
    with playwright_sync.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            user_data_dir,
            executable_path=CHROMIUM,
            args=CHROMIUM_FLAGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
            service_workers="block",
        )
        context.set_default_timeout(TIMEOUT_MS)
        # Only the site itself: map tiles and anything else from outside are refused.
        context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
        yield context
        context.close()
    shutil.rmtree(user_data_dir, ignore_errors=True)


class Page:
    """One open page with the errors the browser reported while it was open."""

    def __init__(self, context, url: str):
        self.page = context.new_page()
        self.errors: list[str] = []
        self.parquet_requests: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.page.on(
            "console",
            lambda m: (
                self.errors.append(f"console: {m.text}")
                if m.type == "error" and "Failed to load resource" not in m.text
                else None
            ),
        )
        self.page.on(
            "request",
            lambda r: self.parquet_requests.append(r.url) if r.url.endswith(".parquet") else None,
        )
        self.page.goto(url, wait_until="networkidle")

    def text(self) -> str:
        return self.page.locator("main, body").first.inner_text()

    def wait_for_text(self, pattern: str) -> None:
        """Wait until the page's text matches ``pattern`` (a regex)."""
        playwright_sync.expect(self.page.locator("body")).to_contain_text(
            re.compile(pattern), timeout=TIMEOUT_MS
        )

    def big_value(self, title: str, expected: str) -> None:
        """Wait until the BigValue titled ``title`` shows ``expected``."""
        title_el = (
            self.page.locator("#evidence-main-article p.text-sm")
            .filter(has_text=re.compile(rf"^{re.escape(title)}$"))
            .first
        )
        value = title_el.locator("xpath=following-sibling::div[1]")
        playwright_sync.expect(value).to_have_text(
            re.compile(rf"^\s*{re.escape(expected)}\s*$"), timeout=TIMEOUT_MS
        )

    def check_and_shoot(self, name: str) -> None:
        """No Evidence error box, no uncaught error; then a full-page screenshot."""
        self.page.wait_for_load_state("networkidle")
        self.page.evaluate("window.scrollTo(0, 0)")  # fixed header and sidebar stay on top
        self.page.wait_for_timeout(800)  # let ECharts finish drawing
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        boxes = self.page.locator(ERROR_BOX)
        assert boxes.count() == 0, f"{name}: Evidence error: {boxes.first.inner_text()}"
        assert "Error" not in self.page.locator("h1").first.inner_text()
        assert not self.errors, f"{name}: {self.errors}"

    def charts(self) -> dict[str, dict]:
        """The page's charts as drawn now, by title."""
        return {c["title"]: c for c in self.page.evaluate(CHARTS_JS)}

    def chart(self, title: str) -> dict:
        """The chart titled ``title`` once it has drawn its data (see CHARTS_JS)."""
        self.page.wait_for_function(
            f"""() => ({CHARTS_JS})().some(
                (c) => c.title === {title!r} && c.series.some((s) => s.points > 0))""",
            timeout=TIMEOUT_MS,
        )
        self.page.wait_for_timeout(300)  # the echartsOptions are applied right after the data
        return self.charts()[title]

    def main_text(self) -> str:
        return self.page.locator("#evidence-main-article").inner_text()

    def choose(self, dropdown_title: str, option: str) -> None:
        """Pick ``option`` in the Evidence Dropdown labelled ``dropdown_title``."""
        self.page.get_by_role("combobox", name=dropdown_title, exact=True).click()
        self.page.get_by_role("option", name=option, exact=True).click()

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def open_page(site, browser_context):
    _, _, url = site
    opened: list[Page] = []

    def _open(route: str) -> Page:
        page = Page(browser_context, url + route.lstrip("/"))
        opened.append(page)
        return page

    yield _open
    for page in opened:
        page.close()


def test_home(open_page, wh):
    (as_of,) = wh("select max(as_of_date) from marts.rpt_sport_ytd_comparison")[0]
    km, count = wh(
        "select sum(distance_km), count(*) from marts.fct_activities where local_year = ?",
        as_of.year,
    )[0]
    week_km = wh(
        "select coalesce(sum(distance_km), 0) from marts.fct_activities"
        " where local_week = date_trunc('week', ?::date)",
        as_of,
    )[0][0]
    week_s = wh(
        "select coalesce(sum(moving_time_s), 0) from marts.fct_activities"
        " where local_week = date_trunc('week', ?::date)",
        as_of,
    )[0][0]
    page = open_page("/")
    page.big_value("Distance this year (km)", f"{km:,.0f}")
    page.big_value("Moving time", hms(week_s))  # the first one: this week, as h:mm:ss
    (change_km,) = wh(
        "select distance_change_km from marts.rpt_sport_ytd_comparison where sport_group = 'all'"
    )[0]
    (change_pct,) = wh(
        "select distance_change_pct from marts.rpt_sport_ytd_comparison where sport_group = 'ride'"
    )[0]
    page.wait_for_text(rf"{re.escape(f'{change_km:+,.0f}')}\s*\S?\s*km against last year")
    ytd_table = page.page.get_by_test_id("DataTable-ytd_by_sport")
    playwright_sync.expect(ytd_table).to_contain_text("Change (%)")
    # Evidence prints a missing delta as "– –" (a zero one as "0 –")
    assert not re.search("\u2013\\s*\u2013", ytd_table.inner_text())
    if change_pct is not None:
        playwright_sync.expect(ytd_table).to_contain_text(f"{change_pct:+.0f}%")
    page.big_value("Activities this year", f"{count:,}")
    page.big_value("Distance (km)", f"{week_km:,.1f}")  # the first one: this week
    (latest,) = wh("select name from marts.fct_activities order by start_at_utc desc limit 1")[0]
    page.wait_for_text(re.escape(latest))
    assert page.page.locator("canvas, svg").count() > 3  # charts and the calendar drew

    # Year to date: both years on one month axis, told apart by a legend and by colour.
    ytd = page.chart("Cumulative distance (km), this year and last")
    assert ytd["legend"]
    assert {s["name"] for s in ytd["series"]} == {"This year", "Last year"}
    assert ytd["x"]["type"] == "time"
    assert len(ytd["x"]["labels"]) >= 4 and set(ytd["x"]["labels"]) <= MONTHS, ytd["x"]
    assert len({s["color"] for s in ytd["series"]}) == 2
    page.check_and_shoot("01-home")


def test_activities_table_and_sport_filter(open_page, wh):
    total = wh("select count(*) from marts.fct_activities")[0][0]
    runs, run_km = wh(
        "select count(*), sum(distance_km) from marts.fct_activities where sport_group = 'run'"
    )[0]
    total_s = wh("select sum(moving_time_s) from marts.fct_activities")[0][0]
    page = open_page("/activities/")
    page.big_value("Activities", f"{total:,}")
    page.big_value("Moving time", hms(total_s))
    page.wait_for_text(rf"of {total:,} records")
    page.check_and_shoot("02-activities")

    page.choose("Sport", "Swim")  # swims read in pace per 100 m, rides in km/h
    page.wait_for_text(r"\d:\d\d /100 m")
    page.choose("Sport", "Ride")
    page.wait_for_text(r"\d km/h")
    assert not re.search(r"/km|/100 m", page.main_text())
    page.check_and_shoot("02b-activities-rides")

    # Filtering re-runs the query in the browser, on the Parquet files.
    page.choose("Sport", "Run")
    page.wait_for_text(rf"of {runs:,} records")
    page.big_value("Activities", f"{runs:,}")
    page.big_value("Distance (km)", f"{run_km:,.0f}")
    page.check_and_shoot("03-activities-runs")


def test_activity_page_splits_dropdown_queries_parquet(open_page, wh):
    # The newest run with splits: prerendered, with a map, streams, laps, splits and efforts.
    activity_id, name, km = wh(
        "select a.activity_id, a.name, a.distance_km from marts.fct_activities as a"
        " where a.sport_group = 'run' and exists (select 1 from marts.fct_activity_splits as s"
        "   where s.activity_id = a.activity_id)"
        " and exists (select 1 from marts.fct_activity_stream_samples as t"
        "   where t.activity_id = a.activity_id)"
        " order by a.start_at_utc desc limit 1"
    )[0]
    km_splits, mile_splits = wh(
        "select count(*) filter (where units = 'metric'), count(*) filter (where units ="
        " 'standard') from marts.fct_activity_splits where activity_id = ?",
        activity_id,
    )[0]
    efforts = wh("select count(*) from marts.fct_best_efforts where activity_id = ?", activity_id)
    page = open_page(f"/activities/{activity_id}/")
    page.wait_for_text(re.escape(name))
    page.big_value("Distance (km)", f"{km:,.2f}")
    track = page.page.locator("[data-testid=track-map]")
    playwright_sync.expect(track).to_have_attribute("data-tracks", "1")
    assert int(track.get_attribute("data-points")) > 100
    assert page.page.locator(".leaflet-container path").count() >= 1  # the route is drawn
    summary = page.page.locator("[data-testid=split-summary]")
    playwright_sync.expect(summary).to_contain_text(f"{km_splits} splits")
    if efforts[0][0]:
        page.wait_for_text("Best efforts")
    # Cadence in steps per minute: Strava's strides per minute, doubled.
    (strides,) = wh(
        "select avg_cadence from marts.fct_activity_stream_metrics where activity_id = ?",
        activity_id,
    )[0]
    assert page.chart("Cadence (spm)")["y"]["extent"][1] > 120  # steps, not strides
    (avg_strides,) = wh(
        "select avg_cadence from marts.fct_activities where activity_id = ?", activity_id
    )[0]
    if avg_strides:
        page.big_value("Cadence (spm)", f"{2 * avg_strides:,.0f}")
    # Every stream chart starts at 0 km, the altitude area chart too.
    for title in ("Pace (/km)", "Altitude (m)"):
        chart = page.chart(title)
        assert chart["x"]["extent"][0] == 0 and chart["x"]["labels"][0] == "0.0", chart["x"]
    assert "Pace per split" in page.charts()
    page.check_and_shoot("04-activity-run")

    # Per mile instead of per km: the browser runs the splits query on splits.parquet itself.
    before = len(page.parquet_requests)
    page.choose("Splits", "Per mile")
    playwright_sync.expect(summary).to_contain_text(f"{mile_splits} splits")
    assert len(page.parquet_requests) > before or page.parquet_requests, (
        "the browser answered without reading any Parquet"
    )
    table = page.page.locator("table").filter(has_text="Grade-adjusted pace")
    rows = table.get_by_role("row").filter(has=page.page.get_by_role("cell"))
    playwright_sync.expect(rows).to_have_count(mile_splits)
    fastest = wh(
        "select min(moving_time_s / (distance_m / 1609.344)) from marts.fct_activity_splits"
        " where activity_id = ? and units = 'standard' and distance_m > 0",
        activity_id,
    )[0][0]
    playwright_sync.expect(summary).to_contain_text(
        f"fastest {round(fastest) // 60}:{round(fastest) % 60:02d}"
    )
    page.choose("Along", "Time")  # stream charts re-query along time instead of distance
    page.page.wait_for_timeout(1500)
    labels = page.chart("Heart rate (bpm)")["x"]["labels"]
    minutes = [seconds_of(label) for label in labels]  # "h:mm" read as minutes
    # round times from 0:00, evenly spaced: every 5, 10, 15 or 30 minutes, or whole hours
    (step, *others) = {b - a for a, b in zip(minutes, minutes[1:], strict=False)}
    assert minutes[0] == 0 and len(minutes) >= 3 and not others, labels
    assert step in (1, 2, 5, 10, 15, 30) or step % 60 == 0, labels
    page.check_and_shoot("05-activity-run-per-mile")


def newest_with_streams(wh, sport_group: str) -> tuple:
    return wh(
        "select activity_id, avg_speed_kmh, avg_cadence from marts.fct_activities as a"
        " where sport_group = ? and exists (select 1 from marts.fct_activity_stream_samples as t"
        "   where t.activity_id = a.activity_id)"
        " order by start_at_utc desc limit 1",
        sport_group,
    )[0]


def test_a_ride_reads_in_speed_and_a_swim_in_pace_per_100_m(open_page, wh):
    activity_id, kmh, rpm = newest_with_streams(wh, "ride")
    page = open_page(f"/activities/{activity_id}/")
    page.big_value("Speed (km/h)", f"{kmh:,.1f}")
    assert page.chart("Speed (km/h)")["series"][0]["points"] > 100
    if rpm:
        page.big_value("Cadence (rpm)", f"{rpm:,.0f}")  # pedal strokes, not doubled
    assert not re.search(r"\bpace\b", page.main_text(), re.IGNORECASE)
    assert not [title for title in page.charts() if "pace" in title.lower()]
    page.check_and_shoot("06c-activity-ride")

    activity_id, kmh, _ = newest_with_streams(wh, "swim")
    per_100_m = round(360 / kmh)  # seconds for 100 m at kmh
    page = open_page(f"/activities/{activity_id}/")
    page.big_value("Pace (/100 m)", f"{per_100_m // 60}:{per_100_m % 60:02d}")
    chart = page.chart("Pace (/100 m)")
    assert chart["series"][0]["points"] > 10
    low, high = chart["y"]["extent"]  # the axis spans the swim's pace, not its pace per km
    assert low <= per_100_m / 86400 <= high and high < 600 / 86400, chart["y"]
    assert "km/h" not in page.main_text() and "/km" not in page.main_text()
    page.check_and_shoot("06d-activity-swim")


def test_activity_page_not_prerendered_renders_in_the_browser(open_page, wh, site):
    build, _, _ = site
    activity_id, name, km = wh(
        "select activity_id, name, distance_km from marts.fct_activities"
        " where data_source = 'api' order by start_at_utc limit 1"
    )[0]
    assert f"/activities/{activity_id}/" not in build.pages  # served from 200.html
    page = open_page(f"/activities/{activity_id}/")
    page.wait_for_text(re.escape(name))
    page.big_value("Distance (km)", f"{km:,.2f}")
    assert page.parquet_requests, "an activity rendered in the browser reads Parquet"
    page.check_and_shoot("06-activity-oldest")


@pytest.mark.parametrize(
    "typed_id", ["0 or true", "0' or '1'='1", "0' as bigint) or true or try_cast('"]
)
def test_an_activity_address_that_is_not_an_id_shows_no_activity(open_page, typed_id):
    page = open_page("/activities/" + urllib.parse.quote(typed_id) + "/")
    page.wait_for_text(re.escape(f"There is no activity {typed_id} in the warehouse"))
    assert page.page.locator(ERROR_BOX).count() == 0
    assert not page.errors, page.errors


def test_file_only_activity_shows_laps_splits_and_best_efforts(open_page, wh):
    """A run known only from a device file: laps from the file, splits and best efforts
    computed from its samples, a note on where it came from, and no Strava link or rank."""
    activity_id, name, km = wh(
        "select activity_id, name, distance_km from marts.fct_activities"
        " where data_source = 'file' and file_key = ?",
        FIXTURE_FILE_ONLY_RUN,
    )[0]
    laps = wh(
        "select lap_name, moving_time_s from marts.fct_activity_laps where activity_id = ?",
        activity_id,
    )
    km_splits = wh(
        "select count(*) from marts.fct_activity_splits where activity_id = ? and units = 'metric'",
        activity_id,
    )
    # Strava never ranked them: their rank is computed from the loaded history.
    efforts = wh(
        "select effort_name, elapsed_time_s, pr_rank from marts.fct_best_efforts"
        " where activity_id = ? and pr_rank_source = 'computed' order by distance_m",
        activity_id,
    )
    page = open_page(f"/activities/{activity_id}/")
    page.wait_for_text(re.escape(name))
    page.big_value("Distance (km)", f"{km:,.2f}")
    source = page.page.locator("[data-testid=activity-source]")
    playwright_sync.expect(source).to_have_text(f"From a device file: {FIXTURE_FILE_ONLY_RUN}")
    assert page.page.get_by_text("Open on Strava").count() == 0  # Strava has no such activity

    def row_of(first_cell: str):
        # by its first cell's exact text ("1/2 mile" cannot go into a role-name regex)
        cell = page.page.get_by_role("cell", name=first_cell, exact=True)
        return page.page.get_by_role("row").filter(has=cell)

    assert len(laps) > 1
    for lap_name, seconds in laps:
        playwright_sync.expect(row_of(lap_name)).to_contain_text(hms(seconds))
    playwright_sync.expect(page.page.locator("[data-testid=split-summary]")).to_contain_text(
        f"{km_splits[0][0]} splits"
    )
    assert efforts
    achievement = {1: "Personal record", 2: "2nd best", 3: "3rd best", None: "—"}
    for effort_name, seconds, rank in efforts:
        row = row_of(effort_name)
        playwright_sync.expect(row).to_contain_text(hms(seconds))
        playwright_sync.expect(row).to_contain_text(achievement[rank])
    page.check_and_shoot("06b-activity-file-only")


def test_trends_with_sport_filter(open_page, wh):
    year = wh("select max(local_year) from marts.fct_activities")[0][0]
    all_km = wh("select sum(distance_km) from marts.fct_activities where local_year = ?", year)
    ride_km = wh(
        "select sum(distance_km) from marts.fct_activities"
        " where local_year = ? and sport_group = 'ride'",
        year,
    )
    page = open_page("/trends/")
    row = page.page.get_by_role("row", name=re.compile(rf"^{year} "))
    playwright_sync.expect(row.first).to_contain_text(f"{all_km[0][0]:,.0f}")
    for title in (
        "Distance per month (km)",
        "Moving time per month (hours)",
        "Elevation gain per month (m)",
    ):
        labels = page.chart(title)["x"]["labels"]  # months and years, never days
        assert labels and all(lab in MONTHS or re.fullmatch(r"\d{4}", lab) for lab in labels)
    weekly = page.chart("Weekly distance and its four-week average (km)")
    assert len({s["color"] for s in weekly["series"]}) == 2  # a series and its average
    page.check_and_shoot("07-trends")
    page.choose("Sport", "Swim")  # a few months only: still month ticks
    page.page.wait_for_timeout(1500)
    labels = page.chart("Distance per month (km)")["x"]["labels"]
    assert labels and all(lab in MONTHS or re.fullmatch(r"\d{4}", lab) for lab in labels)
    page.choose("Sport", "Ride")
    playwright_sync.expect(row.first).to_contain_text(f"{ride_km[0][0]:,.0f}")
    page.check_and_shoot("08-trends-rides")


def test_fitness(open_page, wh):
    ctl, atl = wh("select ctl, atl from marts.fct_fitness_daily order by date_day desc limit 1")[0]
    page = open_page("/fitness/")
    page.big_value("Fitness (CTL)", f"{ctl:,.1f}")
    page.big_value("Fatigue (ATL)", f"{atl:,.1f}")
    page.check_and_shoot("09-fitness")


def test_records(open_page, wh):
    five_k = wh("select min(elapsed_time_s) from marts.fct_best_efforts where effort_name = '5K'")
    eddington = wh(
        "select eddington_number from marts.rpt_eddington"
        " where sport_group = 'ride' and unit = 'km'"
    )
    streak = wh("select longest_length from marts.rpt_streak_summary where streak_type = 'day'")
    page = open_page("/records/")
    row = page.page.get_by_role("row", name=re.compile(r"^5K "))
    playwright_sync.expect(row.first).to_contain_text(hms(five_k[0][0]))
    page.big_value("Ride Eddington (km)", str(eddington[0][0]))
    page.big_value("Longest streak (days)", str(streak[0][0]))
    for title in ("Personal-record progression", "Every effort over this distance"):
        ticks = [seconds_of(label) for label in page.chart(title)["y"]["labels"]]
        (step, *others) = {b - a for a, b in zip(ticks, ticks[1:], strict=False)}
        assert not others and all(t % step == 0 for t in ticks), ticks  # round times
    page.check_and_shoot("10-records")


def test_gear(open_page, wh):
    page = open_page("/gear/")
    for name, km, retired in wh("select gear_name, distance_km, is_retired from marts.dim_gear"):
        label = f"{name} (retired)" if retired else name
        row = page.page.get_by_role("row", name=re.compile(rf"^{re.escape(label)} "))
        playwright_sync.expect(row.first).to_contain_text(f"{km:,.0f}")
    # A bike or shoe used in one month only is one point: drawn as a marker, not lost.
    cumulative = page.chart("Cumulative distance per bike and shoe (km)")
    assert cumulative["series"] and all(s["symbols"] for s in cumulative["series"])
    page.check_and_shoot("11-gear")


def test_heatmap(open_page, wh):
    tracks = wh("select count(distinct activity_id) from marts.fct_heatmap_points")[0][0]
    page = open_page("/heatmap/")
    page.big_value("Tracks", f"{tracks:,}")
    playwright_sync.expect(page.page.locator("[data-testid=track-map]")).to_have_attribute(
        "data-tracks", str(tracks)
    )
    page.check_and_shoot("12-heatmap")


def test_data_status(open_page, wh):
    total = wh("select count(*) from marts.fct_activities")[0][0]
    (last_sync,) = wh("select max(inserted_at) from strava._dlt_loads")[0]
    page = open_page("/data-status/")
    page.big_value("Activities", f"{total:,}")
    page.big_value("Last sync (UTC)", last_sync.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M"))
    (reason,) = wh(
        "select reason from site_status.import_problems where file_key = ?", FIXTURE_BROKEN_FILE
    )[0]
    problems = page.page.locator("[data-testid=import-problem-list] li")
    playwright_sync.expect(problems).to_have_text([f"{FIXTURE_BROKEN_FILE} {reason}"])
    (files,) = wh("select count(*) from marts.fct_activities where data_source = 'file'")[0]
    playwright_sync.expect(page.page.locator("[data-testid=data-sources]")).to_contain_text(
        f"{files:,} from device files"
    )
    page.check_and_shoot("13-data-status")


def test_banner_and_page_titles(open_page, wh):
    """Every page opens with what is loaded; the tab says which page (and which activity)."""
    from strava_datastack_tests.helpers import FIXTURE_MISSING_DAYS

    first, loaded, total, start = wh(
        "select first_loaded_date, partitions_loaded, partitions_total, history_start_date"
        " from site_status.data_status"
    )[0]
    page = open_page("/")
    banner = page.page.locator("[data-testid=loaded-history]")
    playwright_sync.expect(banner).to_contain_text(
        f"History loaded {first.day} {first:%b}", timeout=TIMEOUT_MS
    )
    playwright_sync.expect(banner).to_contain_text(
        f"{loaded:,} of {total:,} days since {start.day} {start:%b %Y} "
        f"({FIXTURE_MISSING_DAYS} days missing in between)."
    )
    playwright_sync.expect(page.page).to_have_title("Training at a glance")
    page.check_and_shoot("00-home-banner")

    activity_id, name = wh(
        "select activity_id, name from marts.fct_activities order by start_at_utc desc limit 1"
    )[0]
    page = open_page(f"/activities/{activity_id}/")
    playwright_sync.expect(page.page.locator("[data-testid=loaded-history]")).to_contain_text(
        f"{loaded:,} of {total:,} days", timeout=TIMEOUT_MS
    )
    playwright_sync.expect(page.page).to_have_title(f"{name} · Strava datastack")
    page.check_and_shoot("00-activity-banner")
