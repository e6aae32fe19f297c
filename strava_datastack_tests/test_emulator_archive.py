"""The emulator's Strava export archive: Strava's layout, and the same data its API serves.

Each archive here covers five weeks (2025-01-01 .. 2025-02-04 of seed 1), a range that holds every
kind of file (FIT plain and gzipped, GPX plain and gzipped, TCX) and a manual entry. Files are
decoded with plain libraries (fitdecode, garmin-fit-sdk, ElementTree) and compared with what the
emulator answers over HTTP for the same activities.
"""

from __future__ import annotations

import csv
import gzip
import io
import subprocess
import sys
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from xml.etree import ElementTree

import fitdecode
import pytest
import requests
from garmin_fit_sdk import Decoder, Stream

from strava_datastack.emulator import StravaEmulator
from strava_datastack.emulator.archive import write_archive
from strava_datastack.files.activities_csv import read_activities_csv
from strava_datastack.files.gear_csv import read_gear_csv
from strava_datastack.strava.export_format import (
    ACTIVITY_COLUMNS,
    ACTIVITY_COLUMNS_CS,
    BIKE_COLUMNS,
    LOCALES,
    SHOE_COLUMNS,
    detect_locale,
)

from .conftest import REPO_ROOT

SEED = 1
START, END = date(2025, 1, 1), date(2025, 2, 4)
CLOCK = datetime(2025, 3, 1, tzinfo=UTC)
REAL_CSV = (
    REPO_ROOT.parent / "shared" / "strava-export" / "activities_csv" / "activities_en_sample.csv"
)
STREAM_KEYS = "time,distance,latlng,altitude,velocity_smooth,heartrate,cadence,watts,temp"
GPX_NS = {"g": "http://www.topografix.com/GPX/1/1",
          "x": "http://www.garmin.com/xmlschemas/TrackPointExtension/v1"}  # fmt: skip
TCX_NS = {"t": "http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2",
          "x": "http://www.garmin.com/xmlschemas/ActivityExtension/v2"}  # fmt: skip
# Stated tolerances of the file formats: FIT stores altitude in 0.2 m steps, positions in
# semicircles (8e-8 degrees); GPX and TCX print what the API serves.
ALTITUDE_TOLERANCE_M = 0.1
LATLNG_TOLERANCE_DEG = 1e-6


@pytest.fixture(scope="module")
def api():
    """The emulator's API for the same athlete, its clock after the archive's range."""
    with StravaEmulator(seed=SEED, clock_start=CLOCK) as emulator:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {emulator.access_token()}"

        def get(path: str, **params):
            response = session.get(emulator.base_url + path, params=params, timeout=30)
            response.raise_for_status()
            return response.json()

        yield get


@pytest.fixture(scope="module")
def api_activities(api):
    after = int(datetime.combine(START, datetime.min.time(), UTC).timestamp()) - 1
    before = int(datetime.combine(END, datetime.max.time(), UTC).timestamp()) + 1
    rows = api("athlete/activities", after=after, before=before, per_page=200)
    return {a["id"]: a for a in rows}


@pytest.fixture(scope="module")
def english(tmp_path_factory):
    out = tmp_path_factory.mktemp("archive-en")
    summary = write_archive(out, start=START, end=END, seed=SEED, workers=1)
    return summary, zipfile.ZipFile(summary.path)


@pytest.fixture(scope="module")
def english_rows(english):
    _, archive = english
    return list(csv.reader(io.StringIO(archive.read("activities.csv").decode("utf-8"))))


@pytest.fixture(scope="module")
def czech(tmp_path_factory):
    out = tmp_path_factory.mktemp("archive-cs")
    summary = write_archive(out, locale="cs", start=START, end=END, seed=SEED, zipped=False)
    return summary, out


def _file_bytes(archive: zipfile.ZipFile, name: str) -> bytes:
    data = archive.read(name)
    return gzip.decompress(data) if name.endswith(".gz") else data


def _streams(api, activity_id: int) -> dict:
    payload = api(f"activities/{activity_id}/streams", keys=STREAM_KEYS, key_by_type="true")
    return {key: value["data"] for key, value in payload.items()}


def _rows_by_suffix(rows: list[list[str]], suffix: str) -> list[list[str]]:
    return [r for r in rows[1:] if r[12].endswith(suffix)]


def test_zip_holds_strava_layout_at_top_level(english, english_rows, api):
    summary, archive = english
    athlete_id = api("athlete")["id"]
    assert summary.path.name == f"export_{athlete_id}.zip"
    names = archive.namelist()
    files = sorted(r[12] for r in english_rows[1:] if r[12])
    assert sorted(names) == sorted(["activities.csv", "bikes.csv", "shoes.csv", *files])
    assert all(not n.startswith(("/", "..")) and ".." not in n.split("/") for n in names)
    assert summary.activities == len(english_rows) - 1
    assert sum(summary.files.values()) == len(files)
    # Every kind of original file a real archive has is in this range.
    assert set(summary.files) == {".fit.gz", ".fit", ".gpx", ".gpx.gz", ".tcx.gz"}
    assert archive.testzip() is None


def test_english_csv_has_the_real_header_and_the_api_numbers(english_rows, api_activities, api):
    with REAL_CSV.open(encoding="utf-8") as handle:
        real_header = next(csv.reader(handle))
    header, rows = english_rows[0], english_rows[1:]
    assert header == real_header == list(ACTIVITY_COLUMNS)
    assert len(header) == 94
    assert all(len(r) == 94 for r in rows)
    assert [int(r[0]) for r in rows] == sorted(api_activities, key=lambda i: api_activities[i][
        "start_date"])  # fmt: skip
    en = LOCALES["en"]
    for r in rows:
        a = api_activities[int(r[0])]
        assert en.parse_date(r[1]) == datetime.fromisoformat(a["start_date"])
        assert r[2] == a["name"]
        assert en.sport_type(r[3]) == a["sport_type"]
        assert int(r[5]) == a["elapsed_time"] == float(r[15])
        assert float(r[16]) == a["moving_time"]
        assert r[6] == f"{a['distance'] / 1000:.2f}"
        # Strava prints float32 values in full; one decimal recovers the API's metres.
        assert round(float(r[17]), 1) == a["distance"]
        assert abs(float(r[17]) - a["distance"]) < 0.01
        assert round(float(r[19]), 3) == a["average_speed"]
        assert r[9] == ("true" if a["commute"] else "false")
        if a.get("has_heartrate"):
            assert float(r[7]) == float(r[30]) == a["max_heartrate"]
            assert float(r[37]) == float(r[8]) == a["suffer_score"]
        if a.get("gear_id"):
            gear = api(f"gear/{a['gear_id']}")
            assert r[11] == gear["name"]
            column = 68 if a["gear_id"].startswith("b") else 69
            assert r[column] == f"{float(a['gear_id'][1:])}"
    sample = rows[0]
    detail = api(f"activities/{sample[0]}")
    assert sample[4] == detail["description"]
    assert float(sample[34]) == pytest.approx(detail["calories"], abs=0.01)


def test_csv_reads_back_through_the_import_without_a_rejected_row(english, api_activities):
    # Each value must sit in its own column: one shifted by a position (the average elapsed speed
    # once landed in "Flagged") makes the import reject every row, and the archive's activities
    # then load as loose files without their Strava ids.
    _, archive = english
    read = read_activities_csv(archive.read("activities.csv"))
    assert read.problems == []
    assert sorted(read.table.column("activity_id").to_pylist()) == sorted(api_activities)
    speeds = read.table.column("average_elapsed_speed").to_pylist()
    assert all(speed is not None and speed > 0 for speed in speeds)


def test_csv_quotes_commas_line_breaks_and_quotes_like_strava(english, english_rows):
    _, archive = english
    text = archive.read("activities.csv").decode("utf-8")
    notes = [r[10] for r in english_rows[1:] if r[10]]
    assert any("\n" in n for n in notes), "a private note with a line break survives quoting"
    assert any("," in n for n in notes)
    first = text.splitlines()[1]
    assert first.split(",")[1].startswith('"')  # the date "Jan 1, 2025, ..." is quoted
    assert first.endswith(',""')  # Media is always quoted, as in the real export


def test_manual_entries_have_no_file(english, english_rows, api_activities):
    summary, archive = english
    manual = [r for r in english_rows[1:] if api_activities[int(r[0])]["manual"]]
    assert manual and len(manual) == summary.manual
    for row in manual:
        assert row[12] == ""
        assert row[52] == "0.0"
        assert not any(n.startswith(f"activities/{row[0]}.") for n in archive.namelist())
    recorded = [r for r in english_rows[1:] if r not in manual]
    assert all(r[12].startswith(f"activities/{r[0]}.") for r in recorded)
    assert all(r[52] == "1.0" for r in recorded)


def test_czech_archive_is_the_same_data_localized(czech, english_rows):
    summary, folder = czech
    assert summary.path == folder
    with (folder / "activities.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == list(ACTIVITY_COLUMNS_CS)
    assert detect_locale(rows[0]).code == "cs"
    assert detect_locale(english_rows[0]).code == "en"
    cs, en = LOCALES["cs"], LOCALES["en"]
    assert len(rows) == len(english_rows)
    for czech_row, english_row in zip(rows[1:], english_rows[1:], strict=True):
        assert czech_row[0] == english_row[0]
        assert cs.parse_date(czech_row[1]) == en.parse_date(english_row[1])
        assert czech_row[6] == english_row[6].replace(".", ",")  # decimal comma: "12,34"
        assert cs.sport_type(czech_row[3]) == en.sport_type(english_row[3])
        assert czech_row[15:] == english_row[15:]  # the machine block is the same in every locale
    assert {r[3] for r in rows[1:]} >= {"Běh", "Jízda"}
    assert (folder / "bikes.csv").exists() and (folder / "shoes.csv").exists()
    files = [r[12] for r in rows[1:] if r[12]]
    assert all((folder / f).is_file() for f in files)


@pytest.mark.parametrize("language", ["en", "cs"])
def test_the_projects_reader_reads_both_archives_with_the_api_numbers(
    language, english, czech, api_activities
):
    if language == "en":
        data = english[1].read("activities.csv")
        bikes, shoes = english[1].read("bikes.csv"), english[1].read("shoes.csv")
    else:
        folder = czech[1]
        data = (folder / "activities.csv").read_bytes()
        bikes, shoes = (folder / "bikes.csv").read_bytes(), (folder / "shoes.csv").read_bytes()

    result = read_activities_csv(data)

    assert result.problems == []
    assert result.locale.language == language
    rows = {row["activity_id"]: row for row in result.table.to_pylist()}
    assert set(rows) == set(api_activities)
    for activity_id, activity in api_activities.items():
        row = rows[activity_id]
        assert row["sport_type"] == activity["sport_type"]
        assert row["activity_date"] == datetime.fromisoformat(activity["start_date"])
        assert row["distance_display"] == round(activity["distance"] / 1000, 2)
        assert row["distance"] == pytest.approx(activity["distance"], rel=1e-6)
        assert row["gear_id"] == activity.get("gear_id")
        assert row["flagged"] is None  # the emulator never flags an activity
    gear = read_gear_csv(bikes, "bike") + read_gear_csv(shoes, "shoe")
    assert {row["activity_gear"] for row in rows.values()} - {""} <= {g.name for g in gear}


def test_unknown_header_is_refused_in_plain_words():
    with pytest.raises(ValueError, match="header this project does not know"):
        detect_locale(["id", "date"])
    with pytest.raises(ValueError, match="unknown export locale 'de'"):
        write_archive(Path("/nonexistent"), locale="de")
    with pytest.raises(ValueError, match="before its start"):
        write_archive(Path("/nonexistent"), start=date(2025, 2, 1), end=date(2025, 1, 1))


def test_gear_csvs_list_the_api_gear(english, english_rows, api):
    _, archive = english
    bikes = list(csv.reader(io.StringIO(archive.read("bikes.csv").decode())))
    shoes = list(csv.reader(io.StringIO(archive.read("shoes.csv").decode())))
    assert tuple(bikes[0]) == BIKE_COLUMNS and tuple(shoes[0]) == SHOE_COLUMNS
    profile = api("athlete")
    assert [b[0] for b in bikes[1:]] == [g["name"] for g in profile["bikes"]]
    assert [s[0] for s in shoes[1:]] == [g["name"] for g in profile["shoes"]]
    for gear_row, gear in zip(bikes[1:] + shoes[1:], profile["bikes"] + profile["shoes"],
                              strict=True):  # fmt: skip
        detail = api(f"gear/{gear['id']}")
        assert gear_row[1:3] == [detail["brand_name"], detail["model_name"]]
    used = {r[11] for r in english_rows[1:] if r[11]}
    assert used <= {b[0] for b in bikes[1:]} | {s[0] for s in shoes[1:]}


def test_fit_samples_equal_the_api_streams(english, english_rows, api):
    _, archive = english
    fits = _rows_by_suffix(english_rows, ".fit.gz")[:2] + _rows_by_suffix(english_rows, ".fit")[:1]
    assert len(fits) == 3
    for row in fits:
        data = _file_bytes(archive, row[12])
        streams = _streams(api, int(row[0]))
        laps = api(f"activities/{row[0]}/laps")
        records, session, fit_laps = [], None, []
        with fitdecode.FitReader(io.BytesIO(data)) as reader:  # checks both CRCs
            for frame in reader:
                if isinstance(frame, fitdecode.FitDataMessage):
                    values = {f.name: f.value for f in frame.fields}
                    if frame.name == "record":
                        records.append(values)
                    elif frame.name == "session":
                        session = values
                    elif frame.name == "lap":
                        fit_laps.append(values)
        start = LOCALES["en"].parse_date(row[1])
        assert len(records) == len(streams["time"])
        for i, rec in enumerate(records):
            assert (rec["timestamp"] - start).total_seconds() == streams["time"][i]
            assert abs(rec["distance"] - streams["distance"][i]) < 0.005  # FIT stores cm
            assert abs(rec["enhanced_speed"] - streams["velocity_smooth"][i]) < 5e-4  # mm/s
            for fit_key, key in (("heart_rate", "heartrate"), ("cadence", "cadence"),
                                 ("power", "watts"), ("temperature", "temp")):  # fmt: skip
                assert rec.get(fit_key) == (streams[key][i] if key in streams else None)
            if "altitude" in streams:
                assert abs(rec["enhanced_altitude"] - streams["altitude"][i]) <= (
                    ALTITUDE_TOLERANCE_M + 1e-9
                )
            if "latlng" in streams:
                lat, lng = (rec[k] * 180 / 2**31 for k in ("position_lat", "position_long"))
                assert abs(lat - streams["latlng"][i][0]) < LATLNG_TOLERANCE_DEG
                assert abs(lng - streams["latlng"][i][1]) < LATLNG_TOLERANCE_DEG
        assert session["total_distance"] == pytest.approx(float(row[17]), abs=0.01)
        assert session["total_elapsed_time"] == int(row[5])
        assert [lap["total_distance"] for lap in fit_laps] == pytest.approx(
            [lap["distance"] for lap in laps], abs=0.005
        )

        # Garmin's own SDK reads the same file without errors.
        decoder = Decoder(Stream.from_byte_array(bytearray(data)))
        assert decoder.is_fit() and decoder.check_integrity()
        messages, errors = Decoder(Stream.from_byte_array(bytearray(data))).read()
        assert errors == []
        assert len(messages["record_mesgs"]) == len(streams["time"])
        assert messages["file_id_mesgs"][0]["type"] == "activity"
        assert messages["session_mesgs"][0]["sport"] in ("running", "cycling", "walking",
                                                         "hiking", "swimming")  # fmt: skip


def test_gpx_is_a_strava_app_recording_with_the_api_samples(english, english_rows, api):
    _, archive = english
    for suffix in (".gpx", ".gpx.gz"):
        row = _rows_by_suffix(english_rows, suffix)[0]
        root = ElementTree.fromstring(_file_bytes(archive, row[12]))
        assert root.get("version") == "1.1"
        assert root.get("creator", "").startswith("StravaGPX")
        points = root.findall(".//g:trkpt", GPX_NS)
        streams = _streams(api, int(row[0]))
        start = LOCALES["en"].parse_date(row[1])
        assert len(points) == len(streams["time"])
        for i, point in enumerate(points):
            when = datetime.fromisoformat(point.find("g:time", GPX_NS).text)
            assert (when - start).total_seconds() == streams["time"][i]
            assert abs(float(point.get("lat")) - streams["latlng"][i][0]) < LATLNG_TOLERANCE_DEG
            assert abs(float(point.get("lon")) - streams["latlng"][i][1]) < LATLNG_TOLERANCE_DEG
            assert abs(float(point.find("g:ele", GPX_NS).text) - streams["altitude"][i]) < 0.05
            ext = point.find("g:extensions/x:TrackPointExtension", GPX_NS)
            for tag, key in (("hr", "heartrate"), ("cad", "cadence"), ("atemp", "temp")):
                if key in streams:
                    assert int(ext.find(f"x:{tag}", GPX_NS).text) == streams[key][i]


def test_tcx_has_laps_and_samples_and_strava_leading_whitespace(english, english_rows, api):
    _, archive = english
    row = _rows_by_suffix(english_rows, ".tcx.gz")[0]
    text = _file_bytes(archive, row[12]).decode()
    assert text[0].isspace() and text.lstrip().startswith("<?xml")
    with pytest.raises(ElementTree.ParseError):
        ElementTree.fromstring(text)  # strict parsers reject it, as they do Strava's
    root = ElementTree.fromstring(text.lstrip())
    streams = _streams(api, int(row[0]))
    laps = api(f"activities/{row[0]}/laps")
    tcx_laps = root.findall(".//t:Lap", TCX_NS)
    assert len(tcx_laps) == len(laps)
    assert [float(lap.find("t:DistanceMeters", TCX_NS).text) for lap in tcx_laps] == [
        lap["distance"] for lap in laps
    ]
    points = root.findall(".//t:Trackpoint", TCX_NS)
    assert len(points) == len(streams["time"])
    for i, point in enumerate(points):
        assert float(point.find("t:DistanceMeters", TCX_NS).text) == streams["distance"][i]
        speed = point.find("t:Extensions/x:TPX/x:Speed", TCX_NS)
        assert float(speed.text) == streams["velocity_smooth"][i]
        if "heartrate" in streams:
            assert int(point.find("t:HeartRateBpm/t:Value", TCX_NS).text) == streams[
                "heartrate"][i]  # fmt: skip
        if "cadence" in streams:
            assert int(point.find("t:Cadence", TCX_NS).text) == streams["cadence"][i]
        if "watts" in streams:
            watts = point.find("t:Extensions/x:TPX/x:Watts", TCX_NS)
            assert int(watts.text) == streams["watts"][i]


def test_same_inputs_write_the_same_bytes(english, tmp_path):
    summary, _ = english
    again = write_archive(tmp_path, start=START, end=END, seed=SEED, workers=2)
    assert again.path.read_bytes() == summary.path.read_bytes()


def test_cli_writes_an_archive(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "strava_datastack.cli", "export-archive", "--out", str(tmp_path),
         "--start", "2025-01-06", "--end", "2025-01-12", "--locale", "cs"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    archives = list(tmp_path.glob("export_*.zip"))
    assert len(archives) == 1
    with zipfile.ZipFile(archives[0]) as archive:
        rows = list(csv.reader(io.StringIO(archive.read("activities.csv").decode())))
    assert rows[0] == list(ACTIVITY_COLUMNS_CS)
    assert f"{len(rows) - 1} activities 2025-01-06 .. 2025-01-12" in result.stdout
