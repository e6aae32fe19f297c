"""The emulator's payloads have the same shape as real, recorded Strava responses.

For each recorded payload kind we fetch the emulator's equivalent over HTTP and compare, field
by field and recursively, the keys and JSON types. Rules, so the comparison stays principled:

* Types observed in the real recordings of that payload kind are merged per field path (all list
  items, and for details both recorded activities), so a field the real API sends as ``null``
  in one recording and a string in another accepts both.
* Numbers: an ``int`` where the real field is ``float`` passes only if the real values are all
  integral (``202.0``) or zero (Strava's sums over nothing come back as ``0``); otherwise the
  emulator must use the same numeric type as the real API.
* ``null`` from the emulator needs evidence: the real API must send ``null`` for that field
  somewhere in the recordings of that resource (``NULL_EVIDENCE``: e.g. the recorded manual
  activity has a null ``upload_id``, the recorded trainer ride a null ``gear_id``).
* Every key the real payload always has must exist in the emulator's, except the short
  documented list ``DELIBERATELY_OMITTED`` (each with its reason). Keys that come and go in the
  real data (power fields, ``average_temp``) are conditional on the recording.
* Objects of the same API model are merged before comparing (e.g. the nine ``ActivityTotal``
  objects of the stats), because the real API's int/float choice varies between them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from strava_datastack.emulator import StravaEmulator

SHARED = Path(__file__).resolve().parents[2] / "shared" / "strava-api"
RUBY = SHARED / "strava-ruby-client" / "extracted"
GO = SHARED / "go.strava"
CLOCK = datetime(2025, 10, 20, 12, 0, tzinfo=UTC)

DELIBERATELY_OMITTED = {
    # Needs other athletes' efforts on the same route; not modelled.
    "similar_activities": "no other athletes exist in the emulator",
    # Only sent when the activity has a photo; the emulator generates no photos.
    "photos.use_primary_photo": "no photos are generated",
}
NULL_BY_DESIGN = {
    "photos.primary": "no photos are generated (Strava sends null then)",
}
TYPE_BY_DESIGN = {
    # The recorded athlete never set an FTP (null); Strava's model types ftp as an integer and
    # the emulated athlete has one, so power zones exist.
    "ftp": {"int"},
}


def _load(path: Path):
    return json.loads(path.read_text())


def _activity_null_evidence() -> set[str]:
    """Field paths that real recorded activities send as null."""
    files = [
        RUBY / "client__activity.json",
        RUBY / "client__activity_ride.json",
        SHARED / "stravalib" / "activity-manual.3.json",
        *sorted((SHARED / "strava-ruby-client" / "models" / "detailed_activities").glob("*.json")),
        SHARED / "strava-ruby-client" / "models" / "summary_activity.json",
    ]
    paths: set[str] = set()
    for path in files:
        _nulls(_load(path), "", paths)
    return paths


def _nulls(value, path: str, out: set[str]) -> None:
    if value is None:
        out.add(path)
    elif isinstance(value, dict):
        for key, child in value.items():
            _nulls(child, f"{path}.{key}" if path else key, out)
    elif isinstance(value, list):
        for item in value:
            _nulls(item, f"{path}[]", out)


NULL_EVIDENCE = _activity_null_evidence()


# ----- schema merging and comparison ------------------------------------------------------


@dataclass
class Node:
    """Observed JSON types at one path of the real payloads."""

    types: set[str] = field(default_factory=set)
    numbers: list[float] = field(default_factory=list)
    keys: dict[str, Node] = field(default_factory=dict)
    items: Node | None = None
    always: set[str] | None = None  # keys present in every observed object


def _type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list):
        return "list"
    return "dict"


def observe(node: Node, value) -> Node:
    kind = _type(value)
    node.types.add(kind)
    if kind in ("int", "float"):
        node.numbers.append(value)
    elif kind == "dict":
        node.always = set(value) if node.always is None else node.always & set(value)
        for key, child in value.items():
            observe(node.keys.setdefault(key, Node()), child)
    elif kind == "list":
        node.items = node.items or Node()
        for item in value:
            observe(node.items, item)
    return node


def schema(*samples) -> Node:
    node = Node()
    for sample in samples:
        observe(node, sample)
    return node


def _numbers_compatible(real: Node, emu_type: str) -> bool:
    if emu_type in real.types:
        return True
    if emu_type == "int" and "float" in real.types:
        return all(float(n).is_integer() for n in real.numbers)
    if emu_type == "float" and "int" in real.types:
        return all(n == 0 for n in real.numbers)
    return False


def compare(real: Node, emu: Node, path: str = "") -> list[str]:
    """Problems found comparing the merged emulator schema against the real one."""
    problems = []
    for emu_type in sorted(emu.types):
        if emu_type in real.types:
            continue
        if emu_type in ("int", "float") and _numbers_compatible(real, emu_type):
            continue
        if emu_type == "null" and (path in NULL_BY_DESIGN or path in NULL_EVIDENCE):
            continue
        if emu_type in TYPE_BY_DESIGN.get(path, ()):
            continue
        problems.append(f"{path or '<root>'}: emulator {emu_type}, real {sorted(real.types)}")
    for key, real_child in real.keys.items():
        child_path = f"{path}.{key}" if path else key
        if key not in emu.keys:
            always = real.always is not None and key in real.always
            if always and child_path not in DELIBERATELY_OMITTED and "dict" in emu.types:
                problems.append(f"{child_path}: missing (real has it)")
            continue
        problems += compare(real_child, emu.keys[key], child_path)
    if real.items is not None and real.items.types and emu.items is not None and emu.items.types:
        problems += compare(real.items, emu.items, f"{path}[]")
    return problems


def assert_conforms(real_samples: list, emu_samples: list) -> None:
    problems = compare(schema(*real_samples), schema(*emu_samples))
    assert not problems, "\n".join(problems)


# ----- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def emu():
    with StravaEmulator(seed=7, clock_start=CLOCK) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def api(emu):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {emu.access_token()}"

    def get(path: str, **params):
        response = session.get(emu.base_url + path, params=params, timeout=30)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
        return response.json()

    return get


def _pick(emu, predicate) -> int:
    """Newest existing activity matching ``predicate`` (on the emulator clock)."""
    for summary in reversed(emu.athlete.visible(emu.clock.now())):
        if predicate(summary):
            return summary["id"]
    raise AssertionError("no such activity in the synthetic history")


def _is_run(a):
    return a["type"] == "Run" and not a["manual"] and a["has_heartrate"]


def _is_trainer(a):
    return a["trainer"] and not a["manual"]


def _is_power_ride(a):
    return a.get("device_watts") and not a["trainer"] and not a["manual"]


# ----- tests ------------------------------------------------------------------------------


def test_list_page(api):
    real = _load(RUBY / "client__athlete_activities.json")
    real += _load(RUBY / "client__athlete_activities_december_2018.json")
    page = api("athlete/activities", per_page=100)
    kinds = {a["sport_type"] for a in page}
    assert {"Run", "Ride", "Swim"} <= kinds | {"GravelRide"}
    assert_conforms(real, page)


def test_detailed_run(emu, api):
    real = [_load(RUBY / "client__activity.json"), _load(RUBY / "client__activity_ride.json")]
    run = api(f"activities/{_pick(emu, _is_run)}")
    # Keys must cover the real run; types may draw on both recorded details.
    problems = compare(schema(*real), schema(run))
    problems += [p for p in compare(schema(real[0]), schema(run)) if "missing" in p]
    assert not problems, "\n".join(problems)
    assert run["best_efforts"] and run["splits_metric"] and run["splits_standard"]


def test_detailed_trainer_ride(emu, api):
    real = [_load(RUBY / "client__activity_ride.json"), _load(RUBY / "client__activity.json")]
    ride = api(f"activities/{_pick(emu, _is_trainer)}")
    problems = compare(schema(*real), schema(ride))
    problems += [p for p in compare(schema(real[0]), schema(ride)) if "missing" in p]
    assert not problems, "\n".join(problems)


def test_detailed_power_ride_has_real_power_fields(emu, api):
    # The only recorded details with power are the ruby model fixture and a 2014 go.strava
    # recording (both older than the other fixtures), so only the power fields are compared.
    ride = api(f"activities/{_pick(emu, _is_power_ride)}")
    power = ("average_watts", "max_watts", "weighted_average_watts", "kilojoules", "device_watts")
    references = [
        _load(SHARED / "strava-ruby-client/models/detailed_activities/ride.json"),
        _load(GO / "activity_get.body"),
    ]
    real = [{k: r[k] for k in power if k in r} for r in references]
    assert_conforms(real, [{k: ride[k] for k in power}])
    lap_real = [lap for r in references for lap in r.get("laps") or []]
    assert_conforms(
        [{k: lap[k] for k in ("average_watts", "device_watts") if k in lap} for lap in lap_real],
        [{k: lap[k] for k in ("average_watts", "device_watts")} for lap in ride["laps"]],
    )


def test_streams_object_form(emu, api):
    real = [
        _load(RUBY / "client__activity_streams.json"),
        _load(RUBY / "client__segment_streams_keys.json"),
    ]
    keys = "time,distance,latlng,altitude,velocity_smooth,heartrate,cadence,watts,temp,moving"
    streams = api(
        f"activities/{_pick(emu, _is_power_ride)}/streams",
        keys=keys + ",grade_smooth",
        key_by_type="true",
    )
    assert_conforms(real, [{k: v for k, v in streams.items() if k in ("distance", "latlng",
                                                                       "altitude")}])  # fmt: skip
    # The other streams: compare each to the recorded array form (same entry shape).
    go = {entry["type"]: entry for entry in _load(GO / "activity_stream.body")}
    for key, entry in streams.items():
        reference = {k: v for k, v in go[key].items() if k != "type"}
        reference["resolution"] = "high"
        reference["data"] = [x for x in reference["data"] if x is not None]
        assert_conforms([reference], [entry])


def test_streams_array_form(emu, api):
    real = _load(GO / "activity_stream.body")
    keys = ",".join(e["type"] for e in real)
    streams = api(f"activities/{_pick(emu, _is_power_ride)}/streams", keys=keys)
    assert isinstance(streams, list)
    assert {e["type"] for e in streams} == {e["type"] for e in real}  # all 11 types
    by_type = {e["type"]: e for e in streams}
    for entry in real:
        # Real medium-resolution data has gaps (null); the emulator serves full resolution.
        entry = dict(entry, data=[x for x in entry["data"] if x is not None])
        assert_conforms([entry], [by_type[entry["type"]]])


def test_activity_zones(emu, api):
    ruby = {z["type"]: z for z in _load(RUBY / "client__activity_zones.json")}
    go = {z["type"]: z for z in _load(GO / "activity_list_zones.body")}
    run_zones = {z["type"]: z for z in api(f"activities/{_pick(emu, _is_run)}/zones")}
    ride_zones = {z["type"]: z for z in api(f"activities/{_pick(emu, _is_power_ride)}/zones")}
    assert set(run_zones) == {"heartrate", "pace"}
    assert set(ride_zones) == {"heartrate", "power"}
    assert_conforms([ruby["heartrate"]], [run_zones["heartrate"], ride_zones["heartrate"]])
    assert_conforms([ruby["pace"]], [run_zones["pace"]])
    assert_conforms([go["power"]], [ride_zones["power"]])
    for zones in (run_zones, ride_zones):
        for zone in zones.values():
            assert zone["distribution_buckets"][-1]["max"] == -1


def test_laps(emu, api):
    real = _load(RUBY / "client__activity_laps.json")
    laps = api(f"activities/{_pick(emu, _is_run)}/laps")
    assert_conforms([real], [laps])


def test_athlete(api):
    real, athlete = _load(RUBY / "client__athlete.json"), api("athlete")
    assert_conforms([real], [athlete])
    # The recorded athlete has no bikes; bikes and shoes share the SummaryGear model.
    assert athlete["bikes"]
    assert_conforms(real["shoes"], athlete["bikes"])


def test_athlete_stats(emu, api):
    real = _load(RUBY / "client__athlete_stats.json")
    stats = api(f"athletes/{emu.athlete.athlete_id}/stats")
    assert_conforms([{k: {} for k in real}], [stats])  # every totals object is there
    # All nine totals objects are the same model (ActivityTotal): merge before comparing.
    totals = [k for k in real if k.endswith("_totals")]
    assert_conforms([real[k] for k in totals], [stats[k] for k in totals])
    recent = [k for k in totals if k.startswith("recent")]
    assert_conforms([real[k] for k in recent], [stats[k] for k in recent])


def test_athlete_zones(api):
    zones = api("athlete/zones")
    assert_conforms([_load(RUBY / "client__athlete_zones.json")], [zones])
    assert len(zones["heart_rate"]["zones"]) == 5 and len(zones["power"]["zones"]) == 7


@pytest.mark.parametrize(("fixture", "prefix"), [("client__gear.0.json", "g"),
                                                 ("client__gear.1.json", "b")])  # fmt: skip
def test_gear(emu, api, fixture, prefix):
    gear = next(g for g in emu.athlete.gear if g.id.startswith(prefix))
    assert_conforms([_load(RUBY / fixture)], [api(f"gear/{gear.id}")])


def test_oauth_refresh_response(emu):
    response = requests.post(
        emu.token_url,
        data={
            "client_id": emu.client_id,
            "client_secret": emu.client_secret,
            "grant_type": "refresh_token",
            "refresh_token": emu.initial_refresh_token,
        },
        timeout=10,
    )
    assert response.status_code == 200
    real = _load(RUBY / "oauth__token_refresh_token.json")
    body = response.json()
    assert set(body) == set(real)  # no "athlete" on a refresh, like the recording
    assert_conforms([real], [body])


def test_401_body(emu):
    response = requests.get(emu.base_url + "athlete", timeout=10)
    assert response.status_code == 401
    assert response.json() == _load(RUBY / "client__authorization_error.json")


def test_404_and_400_fault_shape(emu, api):
    headers = {"Authorization": f"Bearer {emu.access_token()}"}
    fault_shape = [_load(RUBY / "oauth__token_invalid_client.json")]
    for path in ("activities/1", "gear/b1", "activities/1/streams"):
        response = requests.get(emu.base_url + path, headers=headers, timeout=10)
        assert response.status_code == 404
        body = response.json()
        assert body["message"] == "Record Not Found"
        assert_conforms(fault_shape, [body])
    bad = requests.post(emu.token_url, data={"client_id": "nope"}, timeout=10)
    assert bad.status_code == 400
    assert bad.json() == _load(RUBY / "oauth__token_invalid_client.json")
