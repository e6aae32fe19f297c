"""Behaviour of the Strava API emulator: OAuth, paging, rate limits, streams, faults, control."""

from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
import requests

from strava_datastack.emulator import StravaEmulator, decode_polyline, encode_polyline
from strava_datastack.emulator.plan import build_plan
from strava_datastack.emulator.streams import expand

CLOCK = datetime(2025, 10, 20, 12, 7, tzinfo=UTC)
ALL_KEYS = (
    "time,distance,latlng,altitude,velocity_smooth,heartrate,cadence,watts,temp,moving,grade_smooth"
)
LIMIT_HEADERS = (
    "X-Ratelimit-Limit",
    "X-Ratelimit-Usage",
    "X-Readratelimit-Limit",
    "X-Readratelimit-Usage",
)


@pytest.fixture
def emu():
    """A fresh emulator per test (history generation is cached per seed, so this is cheap)."""
    with StravaEmulator(seed=3, clock_start=CLOCK) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def shared_emu():
    """A read-only emulator shared by tests that do not change state."""
    with StravaEmulator(seed=3, clock_start=CLOCK) as emulator:
        yield emulator


def _session(emu) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {emu.access_token()}"
    return session


def _get(session, emu, path, **params) -> requests.Response:
    return session.get(emu.base_url + path, params=params, timeout=30)


def _refresh(emu, refresh_token, **overrides) -> requests.Response:
    form = {
        "client_id": emu.client_id,
        "client_secret": emu.client_secret,
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        **overrides,
    }
    return requests.post(emu.token_url, data=form, timeout=10)


def _epoch(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


def _newest(emu, predicate) -> dict:
    for summary in reversed(emu.athlete.visible(emu.clock.now())):
        if predicate(summary):
            return summary
    raise AssertionError("no matching activity")


# ----- OAuth ------------------------------------------------------------------------------


def test_refresh_rotation_and_expiry(emu):
    first = _refresh(emu, emu.initial_refresh_token)
    assert first.status_code == 200
    body = first.json()
    assert body["token_type"] == "Bearer" and "athlete" not in body
    assert body["expires_in"] == 6 * 3600
    assert body["expires_at"] == int(emu.clock.now().timestamp()) + 6 * 3600
    # The demo token's old access token is long gone, so the first refresh rotates it.
    assert body["refresh_token"] != emu.initial_refresh_token
    assert _refresh(emu, emu.initial_refresh_token).status_code == 400

    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {body['access_token']}"
    assert _get(api, emu, "athlete").status_code == 200

    # While the access token lives, refreshing returns the same pair.
    emu.clock.advance(timedelta(hours=2))
    again = _refresh(emu, body["refresh_token"]).json()
    assert again["access_token"] == body["access_token"]
    assert again["refresh_token"] == body["refresh_token"]
    assert again["expires_in"] == 4 * 3600

    # After expiry: API says 401, and a refresh rotates both tokens.
    emu.clock.advance(timedelta(hours=4, seconds=1))
    assert _get(api, emu, "athlete").status_code == 401
    rotated = _refresh(emu, body["refresh_token"]).json()
    assert rotated["access_token"] != body["access_token"]
    assert rotated["refresh_token"] != body["refresh_token"]
    stale = _refresh(emu, body["refresh_token"])
    assert stale.status_code == 400
    assert stale.json()["errors"][0] == {
        "resource": "RefreshToken",
        "field": "refresh_token",
        "code": "invalid",
    }
    assert _refresh(emu, rotated["refresh_token"]).json()["access_token"] == rotated["access_token"]


def test_bad_client_is_400(emu):
    bad_id = _refresh(emu, emu.initial_refresh_token, client_id="999")
    assert bad_id.status_code == 400
    assert bad_id.json()["errors"][0]["field"] == "client_id"
    bad_secret = _refresh(emu, emu.initial_refresh_token, client_secret="nope")
    assert bad_secret.status_code == 400
    assert bad_secret.json()["errors"][0]["field"] == "client_secret"
    # Failed attempts do not burn the refresh token.
    assert _refresh(emu, emu.initial_refresh_token).status_code == 200


def test_401_without_or_with_unknown_token(shared_emu):
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        response = requests.get(shared_emu.base_url + "athlete", headers=headers, timeout=10)
        assert response.status_code == 401
        assert response.json() == {
            "message": "Authorization Error",
            "errors": [{"resource": "Application", "field": "", "code": "invalid"}],
        }
        assert all(name in response.headers for name in LIMIT_HEADERS)


# ----- listing ----------------------------------------------------------------------------


def test_paging_order_and_end(shared_emu):
    api = _session(shared_emu)
    visible = shared_emu.athlete.visible(shared_emu.clock.now())
    assert len(_get(api, shared_emu, "athlete/activities").json()) == 30  # default per_page
    page = _get(api, shared_emu, "athlete/activities", per_page=500).json()
    assert len(page) == 200  # capped
    starts = [_epoch(a["start_date"]) for a in page]
    assert starts == sorted(starts, reverse=True)
    assert page[0]["id"] == visible[-1]["id"]
    assert max(starts) <= shared_emu.clock.now().timestamp()  # the future is hidden

    seen = []
    for number in range(1, 100):
        rows = _get(api, shared_emu, "athlete/activities", per_page=200, page=number).json()
        if not rows:
            break
        seen += [a["id"] for a in rows]
    assert seen == [a["id"] for a in reversed(visible)]
    assert _get(api, shared_emu, "athlete/activities", per_page=200, page=number + 5).json() == []


def test_after_before_filter(shared_emu):
    api = _session(shared_emu)
    after = int(datetime(2024, 3, 1, tzinfo=UTC).timestamp())
    before = int(datetime(2024, 4, 1, tzinfo=UTC).timestamp())
    rows = _get(
        api, shared_emu, "athlete/activities", after=after, before=before, per_page=200
    ).json()
    expected = [
        a["id"]
        for a in reversed(shared_emu.athlete.activities)
        if after < _epoch(a["start_date"]) < before
    ]
    assert [a["id"] for a in rows] == expected and 15 < len(expected) < 40
    # Boundaries are exclusive: an activity's own start second excludes it.
    first = shared_emu.athlete.activities[100]
    t = _epoch(first["start_date"])
    ids = [a["id"] for a in _get(api, shared_emu, "athlete/activities", after=t).json()]
    assert first["id"] not in ids
    ids = [a["id"] for a in _get(api, shared_emu, "athlete/activities", before=t + 1).json()]
    assert ids[0] == first["id"]


def test_clock_reveals_activities(emu):
    api = _session(emu)
    future = next(a for a in emu.athlete.activities if _epoch(a["start_date"]) > 1.8e9)
    assert _get(api, emu, f"activities/{future['id']}").status_code == 404
    emu.clock.set(datetime(2027, 12, 31, 23, 59, tzinfo=UTC) + timedelta(days=1))
    api = _session(emu)
    assert _get(api, emu, f"activities/{future['id']}").status_code == 200
    newest = _get(api, emu, "athlete/activities", per_page=1).json()[0]
    assert newest["id"] == emu.athlete.activities[-1]["id"]


def test_history_shape(shared_emu):
    acts = shared_emu.athlete.activities
    assert acts[0]["start_date"] >= "2021-01-01" and acts[-1]["start_date"] < "2028-01-01"
    ids = [a["id"] for a in acts]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    weeks = (datetime(2027, 12, 31) - datetime(2021, 1, 1)).days / 7
    assert 4 <= len(acts) / weeks <= 6
    sports = {a["sport_type"] for a in acts}
    assert {"Run", "Ride", "Swim", "Walk", "Hike"} <= sports
    assert any(a["manual"] for a in acts) and any(a["trainer"] for a in acts)
    assert any(a.get("device_watts") for a in acts)
    assert {a["visibility"] for a in acts} >= {"everyone", "only_me"}
    for a in acts[::50]:
        local = datetime.fromisoformat(a["start_date"][:-1]) + timedelta(seconds=a["utc_offset"])
        assert local.isoformat() == a["start_date_local"][:-1]
        assert a["timezone"] == "(GMT+01:00) Europe/Zurich"
    offsets = {a["utc_offset"] for a in acts}
    assert offsets == {3600.0, 7200.0}  # DST-aware


# ----- rate limits ------------------------------------------------------------------------


def _usage(response) -> tuple[str, str]:
    return response.headers["X-Ratelimit-Usage"], response.headers["X-Readratelimit-Usage"]


def test_rate_limit_headers_and_429(emu):
    emu.clock.set(datetime(2025, 10, 20, 12, 14, 30, tzinfo=UTC))
    emu.set_limits(read=(3, 5), overall=(200, 2000))
    api = _session(emu)
    ok = _get(api, emu, "athlete")
    assert ok.headers["X-Readratelimit-Limit"] == "3,5"
    assert ok.headers["X-Ratelimit-Limit"] == "200,2000"
    assert _usage(ok) == ("1,1", "1,1")
    missing = _get(api, emu, "activities/1")
    assert missing.status_code == 404 and _usage(missing) == ("2,2", "2,2")
    assert _get(api, emu, "athlete").status_code == 200
    limited = _get(api, emu, "athlete")
    assert limited.status_code == 429
    assert limited.json() == {
        "message": "Rate Limit Exceeded",
        "errors": [{"resource": "Application", "field": "rate limit", "code": "exceeded"}],
    }
    assert _usage(limited) == ("4,4", "4,4")  # a 429 still counts
    assert emu.usage()["rate_limited"] == 1

    # The 15-minute window resets at the quarter hour, not 15 minutes after the first call.
    emu.clock.set(datetime(2025, 10, 20, 12, 15, tzinfo=UTC))
    fresh = _get(api, emu, "athlete")
    assert fresh.status_code == 200 and _usage(fresh) == ("1,5", "1,5")
    assert _get(api, emu, "athlete").status_code == 429  # daily read limit (5) reached
    usage = emu.usage()
    assert usage["read_daily"] == 6 and usage["read_15min"] == 2 and usage["rate_limited"] == 2

    # The daily window resets at 00:00 UTC.
    emu.clock.set(datetime(2025, 10, 20, 23, 59, 59, tzinfo=UTC))
    api = _session(emu)  # the first token has expired by now
    assert _get(api, emu, "athlete").status_code == 429
    emu.clock.advance(1)
    after_midnight = _get(api, emu, "athlete")
    assert after_midnight.status_code == 200 and _usage(after_midnight) == ("1,1", "1,1")
    assert emu.usage()["total_requests"] == 8


def test_overall_limit_counts_writes_but_read_limit_does_not(emu):
    emu.set_limits(read=(100, 1000), overall=(2, 2000))
    api = _session(emu)
    activity = _newest(emu, lambda a: not a["manual"])
    put = api.put(emu.base_url + f"activities/{activity['id']}", data={"name": "x"}, timeout=10)
    assert put.status_code == 200 and _usage(put) == ("1,1", "0,0")
    assert _get(api, emu, "athlete").status_code == 200
    assert _get(api, emu, "athlete").status_code == 429  # overall 15-min limit of 2


# ----- streams and derived data -----------------------------------------------------------


def _check_streams_match_summary(emu, summary, streams):
    n = len(streams["time"]["data"])
    assert all(len(s["data"]) == n for s in streams.values())
    data = {k: v["data"] for k, v in streams.items()}
    assert data["time"][-1] == summary["elapsed_time"]
    assert sum(data["moving"]) == summary["moving_time"]
    assert abs(data["distance"][-1] - summary["distance"]) < 0.051
    assert data["distance"] == sorted(data["distance"])
    assert max(data["velocity_smooth"]) == summary["max_speed"]
    assert abs(summary["distance"] / summary["moving_time"] - summary["average_speed"]) < 5e-4
    if "altitude" in data:
        alt = data["altitude"]
        gain = sum(max(0.0, b - a) for a, b in pairwise(alt))
        assert abs(gain - summary["total_elevation_gain"]) < 0.051
        assert max(alt) == summary["elev_high"] and min(alt) == summary["elev_low"]
    if "heartrate" in data:
        hr = data["heartrate"]
        assert abs(sum(hr) / n - summary["average_heartrate"]) < 0.051
        assert max(hr) == summary["max_heartrate"]
    else:
        assert not summary["has_heartrate"] and "average_heartrate" not in summary
    # Cadence and power are averaged over moving time (stopped samples read 0).
    if "cadence" in data:
        assert (
            abs(sum(data["cadence"]) / summary["moving_time"] - summary["average_cadence"]) < 0.051
        )
    if "watts" in data:
        watts = data["watts"]
        assert abs(sum(watts) / summary["moving_time"] - summary["average_watts"]) < 0.051
        assert max(watts) == summary["max_watts"]
        assert abs(sum(watts) / 1000 - summary["kilojoules"]) < 0.051
        assert summary["device_watts"] is True
    else:
        assert "average_watts" not in summary and "device_watts" not in summary
    if "latlng" in data:
        track = data["latlng"]
        assert track[0] == summary["start_latlng"] and track[-1] == summary["end_latlng"]
        thinned = decode_polyline(summary["map"]["summary_polyline"])
        assert thinned[0] == pytest.approx(tuple(track[0]), abs=1e-5)
        assert thinned[-1] == pytest.approx(tuple(track[-1]), abs=1e-5)
        for lat, lng in thinned[::5]:  # every thinned point lies on the recorded track
            nearest = min(math.dist((lat, lng), p) for p in track)
            assert nearest < 2e-4
    else:
        assert summary["start_latlng"] == [] and summary["map"]["summary_polyline"] == ""
        assert "altitude" not in data


KINDS = {
    "run": lambda a: a["type"] == "Run" and not a["manual"],
    "power ride": lambda a: a.get("device_watts") and not a["trainer"],
    "trainer ride": lambda a: a["trainer"] and not a["manual"],
    "swim": lambda a: a["type"] == "Swim" and not a["manual"],
    "swim with HR": lambda a: a["type"] == "Swim" and a["has_heartrate"] and not a["manual"],
    "hike": lambda a: a["type"] == "Hike" and not a["manual"],
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_streams_agree_with_summary(shared_emu, kind):
    api = _session(shared_emu)
    summary = _newest(shared_emu, KINDS[kind])
    response = _get(
        api, shared_emu, f"activities/{summary['id']}/streams", keys=ALL_KEYS, key_by_type="true"
    )
    assert response.status_code == 200
    streams = response.json()
    _check_streams_match_summary(shared_emu, summary, streams)
    for entry in streams.values():
        assert entry["series_type"] == "distance" and entry["resolution"] == "high"
        assert entry["original_size"] == len(streams["time"]["data"])
    if kind == "power ride":
        assert set(streams) == set(ALL_KEYS.split(","))
    if kind == "trainer ride":
        assert {"latlng", "altitude"}.isdisjoint(streams) and "watts" in streams

    detail = _get(api, shared_emu, f"activities/{summary['id']}").json()
    if "latlng" in streams:
        full = decode_polyline(detail["map"]["polyline"])
        assert full[0] == pytest.approx(tuple(streams["latlng"]["data"][0]), abs=1e-5)
        assert len(full) > len(decode_polyline(detail["map"]["summary_polyline"]))
    laps = _get(api, shared_emu, f"activities/{summary['id']}/laps").json()
    assert laps == detail["laps"]
    assert abs(sum(lap["distance"] for lap in laps) - summary["distance"]) < 0.1 * len(laps)
    assert sum(lap["moving_time"] for lap in laps) == summary["moving_time"]
    assert sum(lap["elapsed_time"] for lap in laps) == summary["elapsed_time"]
    zones = _get(api, shared_emu, f"activities/{summary['id']}/zones").json()
    for zone in zones:
        assert sum(b["time"] for b in zone["distribution_buckets"]) == summary["moving_time"]
        assert zone["distribution_buckets"][-1]["max"] == -1


def test_run_detail_splits_and_best_efforts(shared_emu):
    api = _session(shared_emu)
    summary = _newest(shared_emu, lambda a: a["type"] == "Run" and a["distance"] > 12000
                      and not a["manual"])  # fmt: skip
    detail = _get(api, shared_emu, f"activities/{summary['id']}").json()
    metric, standard = detail["splits_metric"], detail["splits_standard"]
    assert len(metric) == math.ceil(summary["distance"] / 1000)
    assert len(standard) == math.ceil(summary["distance"] / 1609.34)
    assert abs(sum(s["distance"] for s in metric) - summary["distance"]) < 0.2
    assert sum(s["moving_time"] for s in metric) == summary["moving_time"]
    efforts = detail["best_efforts"]
    names = [e["name"] for e in efforts]
    assert names[:6] == ["400m", "1/2 mile", "1K", "1 mile", "2 mile", "5K"]
    assert all(e["distance"] < summary["distance"] for e in efforts)
    streams = _get(api, shared_emu, f"activities/{summary['id']}/streams",
                   keys="distance,time", key_by_type="true").json()  # fmt: skip
    dist, times = streams["distance"]["data"], streams["time"]["data"]
    for effort in efforts:
        i, j = effort["start_index"], effort["end_index"]
        assert dist[j] - dist[i] >= effort["distance"]
        assert times[j] - times[i] == effort["elapsed_time"]
        assert effort["elapsed_time"] >= effort["distance"] / summary["max_speed"] - 1
    assert detail["gear"]["id"] == summary["gear_id"]
    assert detail["device_name"] and isinstance(detail["calories"], float)


def test_streams_forms_and_manual_404(shared_emu):
    api = _session(shared_emu)
    run = _newest(shared_emu, KINDS["run"])
    only_distance = _get(api, shared_emu, f"activities/{run['id']}/streams", key_by_type="true")
    assert list(only_distance.json()) == ["distance"]  # no keys: just the series type
    array = _get(api, shared_emu, f"activities/{run['id']}/streams", keys="heartrate,time").json()
    assert isinstance(array, list)
    assert {e["type"] for e in array} == {"heartrate", "time", "distance"}
    swim = _newest(shared_emu, lambda a: a["type"] == "Swim" and not a["has_heartrate"]
                   and not a["manual"])  # fmt: skip
    body = _get(api, shared_emu, f"activities/{swim['id']}/streams", keys=ALL_KEYS,
                key_by_type="true").json()  # fmt: skip
    assert "heartrate" not in body and "latlng" not in body  # missing types are omitted

    shared_emu_now = shared_emu.clock.now().timestamp()
    manual = next(
        a for a in reversed(shared_emu.athlete.activities)
        if a["manual"] and _epoch(a["start_date"]) <= shared_emu_now
    )  # fmt: skip
    response = _get(api, shared_emu, f"activities/{manual['id']}/streams", keys=ALL_KEYS)
    assert response.status_code == 404
    assert response.json()["message"] == "Record Not Found"
    detail = _get(api, shared_emu, f"activities/{manual['id']}").json()
    assert detail["manual"] is True and detail["map"]["polyline"] is None
    assert "upload_id_str" not in detail and detail["upload_id"] is None


def test_a_two_hour_ride_has_a_sample_per_second(shared_emu):
    """(How long generating them takes is measured by benchmarks/emulator_streams.py.)"""
    ride = _newest(shared_emu, lambda a: a["type"] == "Ride" and a["elapsed_time"] > 7000
                   and not a["manual"])  # fmt: skip
    position = shared_emu.athlete.activities.index(ride)
    streams = expand(build_plan(shared_emu.athlete._specs[position]))
    assert len(streams["time"]) > 7000


def _best_average(values: list[int], seconds: int) -> float:
    best = window = sum(values[:seconds])
    for i in range(seconds, len(values)):
        window += values[i] - values[i - seconds]
        best = max(best, window)
    return best / seconds


def test_the_athlete_rides_like_an_athlete(shared_emu):
    """A power-duration curve of the critical-power shape with sprints (FTP 265 W), trainer rides
    whose speed follows their power, and stops: mostly recorded (stopped samples), the odd one a
    recording gap, across which the time stream jumps and the summary still agrees."""
    athlete = shared_emu.athlete
    year = [a for a in athlete.visible(shared_emu.clock.now()) if not a["manual"]][-400:]
    rides = [a for a in year if a.get("device_watts")]
    best = dict.fromkeys((5, 60, 300, 1200, 3600), 0.0)
    for ride in rides:
        watts = athlete.streams(ride["id"])["watts"]
        for seconds in best:
            if len(watts) >= seconds:
                best[seconds] = max(best[seconds], _best_average(watts, seconds))
    assert best[5] > 800 and 400 < best[60] < 550 and 280 < best[300] < 340
    assert 0.93 * athlete.ftp < best[3600] < best[1200] < 1.1 * athlete.ftp
    trainer_speeds = {a["average_speed"] for a in year if a["trainer"]}
    assert len(trainer_speeds) > 5
    gaps = 0
    for summary in year[-150:]:
        streams = athlete.streams(summary["id"])
        time_stream = streams["time"]
        if time_stream[-1] + 1 == len(time_stream):
            continue
        gaps += 1
        assert all(t < u for t, u in pairwise(time_stream))
        wrapped = {key: {"data": values} for key, values in streams.items()}
        _check_streams_match_summary(shared_emu, summary, wrapped)
    assert 0 < gaps < 50


def test_stats_count_only_everyone(shared_emu):
    api = _session(shared_emu)
    stats = _get(api, shared_emu, f"athletes/{shared_emu.athlete.athlete_id}/stats").json()
    now = shared_emu.clock.now()
    runs = [
        a for a in shared_emu.athlete.visible(now)
        if a["type"] == "Run" and a["visibility"] == "everyone"
    ]  # fmt: skip
    assert stats["all_run_totals"]["count"] == len(runs)
    assert stats["all_run_totals"]["distance"] == pytest.approx(sum(a["distance"] for a in runs))
    ytd = [a for a in runs if a["start_date"] >= "2025-01-01"]
    assert stats["ytd_run_totals"]["count"] == len(ytd)
    recent = [a for a in runs if _epoch(a["start_date"]) >= now.timestamp() - 28 * 86400]
    assert stats["recent_run_totals"]["count"] == len(recent)
    everything = [a for a in shared_emu.athlete.visible(now) if a["type"] == "Run"]
    assert len(everything) > len(runs)  # private runs exist and are excluded
    assert _get(api, shared_emu, "athletes/1/stats").status_code == 404


def test_athlete_and_zones(shared_emu):
    api = _session(shared_emu)
    athlete = _get(api, shared_emu, "athlete").json()
    assert athlete["id"] == shared_emu.athlete.athlete_id
    assert len(athlete["bikes"]) == 3 and len(athlete["shoes"]) == 3
    assert any(s["retired"] for s in athlete["shoes"])
    zones = _get(api, shared_emu, "athlete/zones").json()
    assert zones["heart_rate"]["zones"][-1]["max"] == -1
    assert zones["power"]["zones"][-1]["max"] == -1
    bike = _get(api, shared_emu, f"gear/{athlete['bikes'][0]['id']}").json()
    assert bike["resource_state"] == 3 and "frame_type" in bike
    assert _get(api, shared_emu, "gear/b123").status_code == 404


def test_determinism(shared_emu):
    other = StravaEmulator(seed=3, clock_start=CLOCK).start()
    different = StravaEmulator(seed=4, clock_start=CLOCK).start()
    try:
        pages = []
        for emulator in (shared_emu, other, different):
            api = _session(emulator)
            listing = _get(api, emulator, "athlete/activities", per_page=50).content
            newest = json.loads(listing)[0]["id"]
            detail = _get(api, emulator, f"activities/{newest}").content
            streams = _get(api, emulator, f"activities/{newest}/streams", keys=ALL_KEYS).content
            pages.append((listing, detail, streams))
        assert pages[0] == pages[1]
        assert pages[0][0] != pages[2][0]
    finally:
        other.stop()
        different.stop()


def test_polyline_roundtrip():
    points = [(38.5, -120.2), (40.7, -120.95), (43.252, -126.453)]
    assert encode_polyline(points) == "_p~iF~ps|U_ulLnnqC_mqNvxq`@"  # Google's example
    assert decode_polyline(encode_polyline(points)) == points


# ----- faults -----------------------------------------------------------------------------


def test_server_errors_slow_and_malformed(emu):
    api = _session(emu)
    emu.faults.server_errors = 2
    for _ in range(2):
        response = _get(api, emu, "athlete")
        assert response.status_code == 500 and response.json() == {"message": "error"}
        assert "X-Ratelimit-Usage" in response.headers
    assert _get(api, emu, "athlete").status_code == 200
    emu.faults.malformed = 1
    broken = _get(api, emu, "athlete")
    with pytest.raises(ValueError):
        broken.json()
    assert _get(api, emu, "athlete").json()["id"] == emu.athlete.athlete_id
    emu.faults.slow_seconds = 0.3
    started = time.perf_counter()
    _get(api, emu, "athlete")
    assert time.perf_counter() - started >= 0.3


def test_faults_aimed_at_one_activity_spoil_only_its_endpoint(emu):
    api = _session(emu)
    victim = _newest(emu, lambda a: not a["manual"])
    other = _newest(emu, lambda a: not a["manual"] and a["id"] != victim["id"])
    control = emu.root_url + "/_emulator/faults"
    aimed = [
        {"id": victim["id"], "endpoint": "streams", "status": 503, "times": 2},
        {"id": victim["id"], "endpoint": "detail", "status": 0, "malformed": True},
    ]
    assert requests.post(control, json={"activities": aimed}, timeout=10).status_code == 200
    streams = f"activities/{victim['id']}/streams"
    assert [_get(api, emu, streams).status_code for _ in range(3)] == [503, 503, 200]
    with pytest.raises(ValueError):
        _get(api, emu, f"activities/{victim['id']}").json()  # every time, until cleared
    assert _get(api, emu, f"activities/{other['id']}").json()["id"] == other["id"]
    assert _get(api, emu, f"activities/{other['id']}/streams").status_code == 200
    requests.post(control, json={"clear_activities": [victim["id"]]}, timeout=10)
    assert _get(api, emu, f"activities/{victim['id']}").json()["id"] == victim["id"]
    emu.faults.aim_at_activity(victim["id"], "laps", status=404, slow_seconds=0.3)
    started = time.perf_counter()
    assert _get(api, emu, f"activities/{victim['id']}/laps").status_code == 404
    assert time.perf_counter() - started >= 0.3
    with pytest.raises(ValueError, match="unknown activity endpoint"):
        emu.faults.aim_at_activity(victim["id"], "kudos")


def test_inactive_app(emu):
    api = _session(emu)
    emu.faults.inactive_app = True
    inactive = {
        "message": "Forbidden",
        "errors": [{"resource": "Application", "field": "Status", "code": "Inactive"}],
    }
    response = _get(api, emu, "athlete/activities")
    assert response.status_code == 403 and response.json() == inactive
    oauth = _refresh(emu, emu.initial_refresh_token)
    assert oauth.status_code == 403 and oauth.json() == inactive
    emu.faults.inactive_app = False
    assert _get(api, emu, "athlete").status_code == 200


def test_revoked_authorization(emu):
    token = _refresh(emu, emu.initial_refresh_token).json()
    emu.faults.revoked = True
    assert _refresh(emu, token["refresh_token"]).status_code == 400
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token['access_token']}"
    response = _get(api, emu, "athlete")
    assert response.status_code == 401
    assert response.json()["errors"][0] == {
        "resource": "Athlete",
        "field": "access_token",
        "code": "invalid",
    }


# ----- control endpoints, edits and deletes ----------------------------------------------


def test_control_endpoints(emu):
    control = emu.root_url + "/_emulator/"
    state = requests.get(control + "state", timeout=10).json()
    assert datetime.fromisoformat(state["clock"]) == CLOCK
    assert state["limits"] == {"read": [100, 1000], "overall": [200, 2000]}
    requests.post(control + "clock", json={"advance_seconds": 90}, timeout=10)
    assert emu.clock.now() == CLOCK + timedelta(seconds=90)
    requests.post(control + "clock", json={"set": "2024-01-01T00:00:00Z"}, timeout=10)
    assert emu.clock.now() == datetime(2024, 1, 1, tzinfo=UTC)
    requests.post(control + "limits", json={"read": [5, 50], "overall": [10, 100]}, timeout=10)
    api = _session(emu)
    assert _get(api, emu, "athlete").headers["X-Readratelimit-Limit"] == "5,50"
    requests.post(control + "faults", json={"server_errors": 1}, timeout=10)
    assert _get(api, emu, "athlete").status_code == 500
    usage = requests.get(control + "state", timeout=10).json()["usage"]
    assert usage["read_15min"] == 2  # control calls are never counted

    victim = _newest(emu, lambda a: not a["manual"])
    edited = requests.post(
        control + f"activities/{victim['id']}", json={"name": "Renamed"}, timeout=10
    )
    assert edited.status_code == 200
    assert _get(api, emu, f"activities/{victim['id']}").json()["name"] == "Renamed"
    assert requests.delete(control + f"activities/{victim['id']}", timeout=10).status_code == 204
    assert _get(api, emu, f"activities/{victim['id']}").status_code == 404
    assert requests.delete(control + f"activities/{victim['id']}", timeout=10).status_code == 404


def test_edit_and_delete(emu):
    api = _session(emu)
    run = _newest(emu, KINDS["run"])
    other_shoe = next(
        g.id for g in emu.athlete.gear if g.id.startswith("g") and g.id != run["gear_id"]
    )
    emu.edit_activity(run["id"], name="Trail day", sport_type="TrailRun", gear_id=other_shoe)
    listed = next(
        a for a in _get(api, emu, "athlete/activities", per_page=100).json()
        if a["id"] == run["id"]
    )  # fmt: skip
    assert (listed["name"], listed["sport_type"], listed["type"]) == (
        "Trail day",
        "TrailRun",
        "Run",
    )
    detail = _get(api, emu, f"activities/{run['id']}").json()
    assert detail["gear_id"] == other_shoe and detail["gear"]["id"] == other_shoe
    assert detail["sport_type"] == "TrailRun"

    emu.delete_activity(run["id"])
    ids = [a["id"] for a in _get(api, emu, "athlete/activities", per_page=100).json()]
    assert run["id"] not in ids
    assert run["id"] not in [a["id"] for a in emu.athlete.activities]
    for path in ("", "/streams", "/laps", "/zones"):
        assert _get(api, emu, f"activities/{run['id']}{path}").status_code == 404
