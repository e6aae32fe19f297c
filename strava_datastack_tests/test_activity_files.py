"""Activity files from real devices, read as an import reads them.

FIT samples are checked against the records each file's `*-records.csv` lists (decoded by another
FIT implementation); GPX and TCX against the XML itself, read here with the standard library.
Broken files must come back as an `ActivityFileError` with a plain reason, never half-loaded.
"""

from __future__ import annotations

import gzip
import math
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa
import pyfitparsernative
import pytest

from strava_datastack.files import derived, fit
from strava_datastack.files.activity_file import (
    LAP_SCHEMA,
    SAMPLE_SCHEMA,
    ActivityFileError,
    parse_activity_file,
    parse_many,
    peek_start,
)
from strava_datastack.strava.polyline import decode as decode_polyline
from strava_datastack_tests.helpers import (
    BROKEN,
    FIT_DIR,
    FIT_WITH_RECORDS,
    GPX_DIR,
    LOADING_GPX,
    TCX_DIR,
    TOLERANCE,
    read_records_csv,
    records_csv_of,
    xml_points,
)


@pytest.mark.parametrize("fit", FIT_WITH_RECORDS, ids=lambda p: p.name)
def test_fit_samples_equal_the_records_csv(fit):
    times, expected = read_records_csv(records_csv_of(fit))
    (activity,) = parse_activity_file(fit)
    samples = activity.samples
    assert samples.schema == SAMPLE_SCHEMA
    assert samples.num_rows == len(times)
    got_times = [activity.start_date + timedelta(seconds=s) for s in samples["time"].to_pylist()]
    assert got_times == times
    for column, values in expected.items():
        got = samples[column].to_pylist()
        for row, (want, have) in enumerate(zip(values, got, strict=True)):
            if have is None and want is not None and row > 0:
                # Where a record holds FIT's "invalid" marker (no fix, no pedal stroke) the CSV
                # repeats the previous row's value; the samples keep the gap as null.
                assert want == values[row - 1], (column, row)
            elif want is None:
                assert have is None, (column, row)
            elif column in TOLERANCE:
                assert have is not None and abs(have - want) <= TOLERANCE[column], (
                    column,
                    row,
                    have,
                    want,
                )
            else:
                assert have == want, (column, row)


@pytest.mark.parametrize("fit", FIT_WITH_RECORDS, ids=lambda p: p.name)
def test_fit_laps_cover_the_samples(fit):
    (activity,) = parse_activity_file(fit)
    laps = activity.laps
    assert laps.schema == LAP_SCHEMA
    assert laps["lap_index"].to_pylist() == list(range(1, laps.num_rows + 1))
    starts, ends = laps["start_index"].to_pylist(), laps["end_index"].to_pylist()
    assert starts[0] == 0 and ends[-1] == activity.samples.num_rows - 1
    assert all(s <= e for s, e in zip(starts, ends, strict=True))
    assert all(later >= earlier for earlier, later in zip(starts, starts[1:], strict=False))
    assert 0 < activity.moving_time <= activity.elapsed_time
    assert activity.sport_type in {"Run", "Ride", "Walk"}


@pytest.mark.parametrize("name", LOADING_GPX)
def test_gpx_tracks_load_with_their_timed_points(name):
    path = GPX_DIR / name
    times = xml_points(path, "trkpt", "time")
    (activity,) = parse_activity_file(path)
    samples = activity.samples
    assert samples.num_rows == len(times)
    assert activity.start_date == times[0]
    assert samples["time"][-1].as_py() == round((times[-1] - activity.start_date).total_seconds())
    assert activity.laps.num_rows == 1  # GPX has no laps: one for the whole activity
    assert activity.laps["end_index"][0].as_py() == samples.num_rows - 1
    lat = samples["lat"].to_numpy()
    assert np.all((lat > 45) & (lat < 51))  # Slovenia and Aachen
    distance = samples["distance"].to_numpy()
    assert distance[0] == 0 and np.all(np.diff(distance) >= 0)  # computed from positions
    assert activity.distance == pytest.approx(distance[-1])
    assert samples["altitude"].null_count == 0
    assert 0 <= activity.moving_time <= activity.elapsed_time


@pytest.mark.parametrize("name", LOADING_GPX)
def test_a_gpx_route_starts_and_ends_at_its_first_and_last_timed_points(name):
    path = GPX_DIR / name
    timed = [
        (float(point.get("lat")), float(point.get("lon")))
        for point in ET.fromstring(path.read_bytes().lstrip()).iter()
        if point.tag.rpartition("}")[2] == "trkpt"
        and any(child.tag.rpartition("}")[2] == "time" and child.text for child in point)
    ]
    (activity,) = parse_activity_file(path)
    route = activity.route
    assert (route["start_lat"], route["start_lng"]) == pytest.approx(timed[0], abs=1e-9)
    assert (route["end_lat"], route["end_lng"]) == pytest.approx(timed[-1], abs=1e-9)
    # Strava's summary polyline format: a thinned track, its ends kept, 5 decimals.
    line = decode_polyline(route["summary_polyline"])
    assert 2 <= len(line) <= derived.SUMMARY_POINTS + 1
    assert line[0] == pytest.approx(timed[0], abs=1e-5)
    assert line[-1] == pytest.approx(timed[-1], abs=1e-5)
    assert all(
        min(lat for lat, _ in timed) - 1e-5 <= lat <= max(lat for lat, _ in timed) + 1e-5
        for lat, _ in line
    )


def test_an_activity_without_positions_has_no_route():
    indoor = {"time": np.arange(60.0), "heartrate": np.full(60, 120.0)}
    assert derived.route_summary(indoor) == dict.fromkeys(derived.ROUTE_COLUMNS)


@pytest.mark.parametrize("name", ["cross-country-skiing_activity_1.tcx", "sup_activity_1.tcx"])
def test_tcx_activities_load_with_their_laps(name):
    path = TCX_DIR / name
    times = xml_points(path, "Trackpoint", "Time")
    lap_count = sum(1 for e in ET.parse(path).iter() if e.tag.endswith("}Lap"))
    (activity,) = parse_activity_file(path)
    samples = activity.samples
    assert samples.num_rows == len(times)
    assert samples["time"][-1].as_py() == round((times[-1] - activity.start_date).total_seconds())
    assert activity.laps.num_rows == lap_count
    assert activity.laps["end_index"][-1].as_py() == samples.num_rows - 1
    assert samples["heartrate"].null_count < samples.num_rows
    assert 30 < np.nanmean(samples["heartrate"].to_numpy(zero_copy_only=False)) < 200
    assert samples["velocity_smooth"].null_count < samples.num_rows  # from the TPX extension
    assert activity.device_name == "vívoactive HR"
    assert sum(activity.laps["distance"].to_pylist()) == pytest.approx(activity.distance, rel=0.05)


@pytest.mark.parametrize("path", list(BROKEN), ids=lambda p: p.name)
def test_broken_files_are_refused_with_a_plain_reason(path):
    with pytest.raises(ActivityFileError) as caught:
        parse_activity_file(path)
    assert BROKEN[path] in caught.value.reason
    assert caught.value.path == str(path)


def test_a_corrupt_chained_settings_header_does_not_lose_the_intact_activity():
    # The file is a complete, checksum-valid activity followed by a chained settings file whose
    # header is corrupt (".GIT" for ".FIT"): the activity loads, the broken tail is ignored.
    path = FIT_DIR / "activity-settings-corruptheader.fit"
    data = path.read_bytes()
    first_length = data[0] + int.from_bytes(data[4:8], "little") + 2
    records = [
        m
        for m in pyfitparsernative.parse_fit_bytes(data[:first_length])
        if m["message_type"] == "record"
    ]
    (activity,) = parse_activity_file(path)
    assert activity.samples.num_rows == len(records) > 0
    assert activity.sport_type == "Run"


def test_a_crc_error_is_refused(tmp_path):
    damaged = bytearray((FIT_DIR / "garmin-fenix-5-run.fit").read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    path = tmp_path / "damaged.fit"
    path.write_bytes(bytes(damaged))
    with pytest.raises(ActivityFileError, match="fails its checksum"):
        parse_activity_file(path)
    # peek_start only walks message headers (fast indexing) and does not check the CRC: the
    # damaged file is still placed on its day, and refused when it is parsed.
    assert peek_start(path) == peek_start(FIT_DIR / "garmin-fenix-5-run.fit")


@pytest.mark.parametrize(
    "source",
    [
        FIT_DIR / "garmin-fenix-5-run.fit",
        GPX_DIR / "cerknicko-jezero.gpx",
        TCX_DIR / "sup_activity_1.tcx",
    ],
    ids=lambda p: p.suffix,
)
def test_gzipped_files_load_like_the_plain_ones(tmp_path, source):
    plain = parse_activity_file(source)[0]
    packed = gzip.compress(source.read_bytes())
    upper = tmp_path / (source.stem + source.suffix.upper() + ".GZ")  # any case
    upper.write_bytes(packed)
    from_file = parse_activity_file(upper)[0]
    from_member = parse_activity_file(f"export.zip/activities/{source.name}.gz", packed)[0]
    for activity in (from_file, from_member):
        assert activity.samples.equals(plain.samples)
        assert activity.laps.equals(plain.laps)
        assert activity.start_date == plain.start_date
    assert from_member.path == f"export.zip/activities/{source.name}.gz"


def test_a_truncated_gzip_is_refused(tmp_path):
    packed = gzip.compress((FIT_DIR / "garmin-fenix-5-run.fit").read_bytes())
    path = tmp_path / "cut.fit.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(ActivityFileError, match="ends early"):
        parse_activity_file(path)


def test_a_gpx_with_bom_unicode_and_garmin_extensions_loads(tmp_path):
    start = datetime(2024, 5, 4, 7, 30, 0)
    points = "".join(
        f'<trkpt lat="{46.0 + i * 1e-4:.6f}" lon="14.5"><ele>{300 + i}</ele>'
        f"<time>{start + timedelta(seconds=i):%Y-%m-%dT%H:%M:%SZ}</time>"
        "<extensions><gpxtpx:TrackPointExtension>"
        f"<gpxtpx:atemp>21</gpxtpx:atemp><gpxtpx:hr>{120 + i}</gpxtpx:hr>"
        "<gpxtpx:cad>85</gpxtpx:cad></gpxtpx:TrackPointExtension></extensions></trkpt>"
        for i in range(30)
    )
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="Zepp Ženěva – 走る" xmlns="http://www.topografix.com/GPX/1/1"'
        ' xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">'
        f"<trk><name>Šmarna gora ☀</name><type>running</type><trkseg>{points}</trkseg></trk></gpx>"
    )
    path = tmp_path / "unicode.gpx"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    (activity,) = parse_activity_file(path)
    assert activity.device_name == "Zepp Ženěva – 走る"
    assert activity.sport_type == "Run"
    assert activity.start_date == start
    assert activity.samples["heartrate"].to_pylist() == [120 + i for i in range(30)]
    assert set(activity.samples["cadence"].to_pylist()) == {85}
    assert set(activity.samples["temp"].to_pylist()) == {21}
    assert peek_start(path) == (start, "Run")


def test_a_tcx_with_leading_whitespace_loads(tmp_path):
    source = TCX_DIR / "sup_activity_1.tcx"
    path = tmp_path / "strava.tcx"
    path.write_bytes(b"\n\n      " + source.read_bytes())
    plain = parse_activity_file(source)[0]
    assert parse_activity_file(path)[0].samples.equals(plain.samples)
    assert peek_start(path)[0] == plain.start_date


def test_a_multisport_fit_gives_one_activity_per_session(tmp_path):
    start = datetime(2024, 6, 1, 8, 0, 0)

    def stamp(seconds: int) -> str:
        return (start + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")

    messages = [{"message_type": "file_id", "type": "activity", "manufacturer": "garmin"}]
    legs = [("cycling", 0, 600, 8.0), ("running", 700, 1300, 3.0)]  # 100 s transition between
    for sport, begin, end, speed in legs:
        for second in range(begin, end + 1, 5):
            messages.append(
                {
                    "message_type": "record",
                    "timestamp": stamp(second),
                    "distance": (second - begin) * speed,
                    "heart_rate": 140,
                }
            )
        messages.append(
            {
                "message_type": "lap",
                "timestamp": stamp(end),
                "start_time": stamp(begin),
                "total_elapsed_time": float(end - begin),
                "total_distance": (end - begin) * speed,
            }
        )
        messages.append(
            {
                "message_type": "session",
                "timestamp": stamp(end),
                "start_time": stamp(begin),
                "sport": sport,
                "total_elapsed_time": float(end - begin),
                "total_distance": (end - begin) * speed,
            }
        )
    path = tmp_path / "brick.fit"
    pyfitparsernative.write_fit_file(str(path), messages)
    ride, run = parse_activity_file(path)
    assert (ride.sport_type, run.sport_type) == ("Ride", "Run")
    assert (ride.start_date, run.start_date) == (start, start + timedelta(seconds=700))
    assert ride.samples.num_rows == run.samples.num_rows == 121
    assert ride.distance == pytest.approx(4800) and run.distance == pytest.approx(1800)
    assert ride.laps.num_rows == run.laps.num_rows == 1


def test_peek_start_agrees_with_the_full_parse():
    loadable = [*FIT_WITH_RECORDS, FIT_DIR / "Edge810-Vector-2013-08-16-15-35-10.fit"]
    loadable += [GPX_DIR / n for n in LOADING_GPX] + sorted(TCX_DIR.glob("*.tcx"))
    for path in loadable:
        activity = parse_activity_file(path)[0]
        assert peek_start(path) == (activity.start_date, activity.sport_type), path.name


def test_parse_many_returns_every_result_and_every_error():
    good = [FIT_DIR / "garmin-fenix-5-walk.fit", TCX_DIR / "sup_activity_1.tcx"]
    bad = [FIT_DIR / "Settings.fit", FIT_DIR / "activity-unexpected-eof.fit"]
    member = ("export.zip/activities/run.fit", (FIT_DIR / "garmin-fenix-5-run.fit").read_bytes())
    items = [*good, *bad, member]
    results = dict(parse_many(items, workers=2))
    assert set(results) == set(items)
    for path in bad:
        assert isinstance(results[path], ActivityFileError)
        assert results[path].path == str(path) and results[path].reason
    for item in [*good, member]:
        (activity,) = results[item]
        assert activity.samples.num_rows > 0
    assert results[member][0].path == "export.zip/activities/run.fit"
    sequential = dict(parse_many(items, workers=1))
    assert sequential[good[0]][0].samples.equals(results[good[0]][0].samples)


def test_unknown_file_types_are_named_as_such(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not an activity")
    with pytest.raises(ActivityFileError, match=r"\.fit, \.gpx or \.tcx"):
        parse_activity_file(path)


def test_splits_and_best_efforts_of_a_real_run():
    (run,) = parse_activity_file(FIT_DIR / "activity-small-fenix2-run.fit")
    samples = run.samples
    total = samples["distance"].to_numpy(zero_copy_only=False)
    covered = np.nanmax(total) - np.nanmin(total)
    for units, size in (("metric", 1000.0), ("standard", 1609.344)):
        table = derived.splits(samples, units)
        assert table.num_rows == math.ceil(covered / size)
        assert table["split"].to_pylist() == list(range(1, table.num_rows + 1))
        assert sum(table["distance"].to_pylist()) == pytest.approx(covered)
        assert table["distance"].to_pylist()[:-1] == pytest.approx([size] * (table.num_rows - 1))
        assert sum(table["elapsed_time"].to_pylist()) == pytest.approx(
            samples["time"][-1].as_py(), abs=table.num_rows
        )
        moving = table["moving_time"].to_pylist()
        assert all(
            0 < m <= e for m, e in zip(moving, table["elapsed_time"].to_pylist(), strict=True)
        )
    efforts = derived.best_efforts(samples)
    names = efforts["name"].to_pylist()
    expected = [n for n, d in derived.BEST_EFFORT_DISTANCES.items() if d <= covered]
    assert names == expected  # 9 km: up to 5K, no 10K
    times = efforts["elapsed_time"].to_pylist()
    assert times == sorted(times)
    fastest_km = min(derived.splits(samples, "metric")["elapsed_time"].to_pylist()[:-1])
    assert times[names.index("1K")] <= fastest_km
    # A best effort's time matches the distance it spans between its indices (interpolated start).
    five_k = efforts.filter(pa.compute.equal(efforts["name"], "5K")).to_pylist()[0]
    spanned = total[five_k["end_index"]] - total[five_k["start_index"]]
    assert 5000 <= spanned <= 5000 + np.nanmax(np.diff(total)) + 1e-6


def test_moving_time_ignores_a_pause():
    time = np.arange(0, 1200, 1.0)
    # 10 minutes at 3 m/s, 5 minutes standing (GPS drift of 0.1 m/s), 5 minutes at 3 m/s.
    speed = np.where((time >= 600) & (time < 900), 0.1, 3.0)
    distance = np.concatenate([[0.0], np.cumsum(speed[1:])])
    samples = {"time": time, "distance": distance}
    assert derived.moving_time(samples) == 899  # every 1 s interval but the 300 standing
    assert not derived.moving_mask(samples)[700]


def test_elevation_gain_is_not_fooled_by_jitter():
    time = np.arange(0, 3600, 1.0)
    climb = np.minimum(time, 1800) / 1800 * 100  # 100 m up over 30 minutes, then flat
    jitter = np.random.default_rng(7).normal(0, 0.4, len(time))
    samples = {"time": time, "altitude": 200 + climb + jitter}
    raw_gain = np.diff(samples["altitude"]).clip(0).sum()
    assert raw_gain > 500  # summed raw, the noise alone would count hundreds of metres
    assert derived.elevation_gain(samples) == pytest.approx(100, abs=10)


def test_a_missing_file_is_reported(tmp_path):
    with pytest.raises(ActivityFileError, match="could not be read"):
        parse_activity_file(tmp_path / "gone.fit")


def test_gpx_tracks_in_the_wrong_order_are_put_in_time_order(tmp_path):
    source = GPX_DIR / "track-with-empty-segment.gpx"
    text = source.read_text()
    head, body = text.split("<trkseg>", 1)
    points, tail = body.split("</trkseg>", 1)
    halves = points.split("</trkpt>")
    middle = len(halves) // 2
    swapped = "</trkpt>".join(halves[middle:-1]) + "</trkpt>" + "</trkpt>".join(halves[:middle])
    swapped += "</trkpt>"
    path = tmp_path / "swapped.gpx"
    path.write_text(f"{head}<trkseg>{swapped}</trkseg>{tail}")
    (plain,) = parse_activity_file(source)
    (reordered,) = parse_activity_file(path)
    assert reordered.start_date == plain.start_date
    assert reordered.samples.drop(["grade_smooth"]).equals(plain.samples.drop(["grade_smooth"]))


SPORT_CASES = [(sport, None) for sport in fit.SPORTS] + list(fit.SUB_SPORTS)


@pytest.mark.parametrize("sport,sub_sport", SPORT_CASES, ids=lambda v: str(v))
def test_peek_reads_the_same_sport_as_the_full_parse(tmp_path, sport, sub_sport):
    # Files written with the FIT encoder under each sport name this project maps: the header
    # walk of peek_start must name the same Strava sport as the full decode.
    start = datetime(2024, 3, 2, 9, 0, 0)
    stamp = start.strftime("%Y-%m-%dT%H:%M:%S")
    end = (start + timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%S")
    session = {"message_type": "session", "start_time": stamp, "timestamp": end, "sport": sport}
    if sub_sport:
        session["sub_sport"] = sub_sport
    messages = [
        {"message_type": "file_id", "type": "activity", "manufacturer": "garmin"},
        *({"message_type": "record", "timestamp": t, "heart_rate": 120} for t in (stamp, end)),
        session,
    ]
    path = tmp_path / "sport.fit"
    try:
        pyfitparsernative.write_fit_file(str(path), messages)
    except ValueError:
        pytest.skip(f"the FIT encoder does not know {sport}/{sub_sport}")
    (activity,) = parse_activity_file(path)
    assert activity.sport_type == (fit.SUB_SPORTS.get((sport, sub_sport)) or fit.SPORTS[sport])
    assert peek_start(path) == (start, activity.sport_type)
