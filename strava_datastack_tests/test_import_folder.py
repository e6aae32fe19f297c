"""The import folder as a user fills it (an unpacked export, the export ZIP, a device's files) and
its index: hostile archives refused per entry with nothing written, files peeked only once."""

import gzip
import os
import shutil
import sqlite3
import struct
import zipfile
from datetime import UTC, date, datetime

import pytest

from strava_datastack.files.file_index import FileIndex
from strava_datastack.files.import_folder import ArchiveLimits, ImportRefused, scan
from strava_datastack_tests.conftest import REPO_ROOT
from strava_datastack_tests.helpers import (
    EXPORT_FILES,
    english_export,
    export_members,
    to_csv,
    write_folder,
)

SHARED = REPO_ROOT.parent / "shared" / "strava-export"
MIB = 1024 * 1024

# A device's sync folder beside the export: files of their own, no CSV.
DEVICE_FILES = {
    "GARMIN/Activity/edge500.fit": SHARED / "fit" / "garmin-edge-500-activity.fit",
    "GARMIN/Activity/fenix-walk.FIT": SHARED / "fit" / "garmin-fenix-5-walk.fit",
    "phone/Mojstrovka.gpx.gz": SHARED / "gpx" / "Mojstrovka.gpx",
}


def write_zip(path, members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED):
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 5, 1, 12, 0, 0))
            info.compress_type = compression
            archive.writestr(info, data)


def device_files() -> dict[str, bytes]:
    return {name: gzip.compress(p.read_bytes(), mtime=0) if name.endswith(".gz") else
            p.read_bytes() for name, p in DEVICE_FILES.items()}


def all_files(root) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


class FakePeek:
    """Stands in for the parsers' peek: a start per file name, counting what it is asked."""

    def __init__(self, starts: dict[str, datetime]):
        self.starts = starts
        self.calls: list[str] = []

    def __call__(self, name: str, content: bytes):
        self.calls.append(name)
        assert not content.startswith(b"\x1f\x8b"), "peek must get un-gzipped content"
        if name not in self.starts:
            raise ValueError(f"no activity in {name}")
        return self.starts[name], "Ride"


DEVICE_STARTS = {
    "edge500.fit": datetime(2023, 3, 1, 7, 0, tzinfo=UTC),
    "fenix-walk.FIT": datetime(2023, 3, 2, 23, 30, tzinfo=UTC),
    "Mojstrovka.gpx": datetime(2023, 3, 5, 9, 0, tzinfo=UTC),
}


def test_unpacked_export_and_device_folder(tmp_path):
    folder = tmp_path / "import"
    write_folder(folder / "export_123", export_members())
    write_folder(folder, device_files())

    found = scan(folder)

    assert found.problems == []
    items = found.by_key()
    assert set(items) == {f"export_123/{name}" for name in EXPORT_FILES} | set(DEVICE_FILES) | {
        "export_123/activities.csv#5000000002"}  # the manual entry, no file
    fit = items["export_123/activities/5000000001.fit.gz"]
    assert (fit.file_format, fit.compressed, fit.activity_id) == ("fit", True, 5000000001)
    assert fit.csv_start == datetime(2021, 1, 1, 9, 5, tzinfo=UTC)
    assert fit.read_content() == EXPORT_FILES["activities/5000000001.fit.gz"][0].read_bytes()
    assert fit.content_name == "5000000001.fit"
    manual = items["export_123/activities.csv#5000000002"]
    assert (manual.file_format, manual.has_file, manual.csv_sport_type) == ("csv_row", False,
                                                                            "Walk")
    walk = items["GARMIN/Activity/fenix-walk.FIT"]
    assert (walk.file_format, walk.activity_id, walk.csv_start) == ("fit", None, None)
    (export,) = found.exports
    assert export.activities.table.num_rows == 5
    assert [b.name for b in export.bikes] == ["Pathfinder"]
    assert [s.name for s in export.shoes] == ["Pegasus"]


def test_export_zip_is_read_in_place(tmp_path):
    folder = tmp_path / "import"
    write_zip(folder / "export_123.zip", export_members())
    before = all_files(tmp_path)

    found = scan(folder)
    contents = {key: item.read_bytes() for key, item in found.by_key().items() if item.has_file}

    assert found.problems == []
    members = export_members()
    assert contents == {f"export_123.zip!{name}": members[name] for name in EXPORT_FILES}
    assert found.by_key()["export_123.zip!activities/4163856655.gpx"].activity_id == 4163856655
    assert "export_123.zip!activities.csv#5000000002" in found.by_key()
    assert all_files(tmp_path) == before  # nothing unpacked


def test_zip_inside_a_zip_is_read_one_level_deep(tmp_path):
    folder = tmp_path / "import"
    inner = tmp_path / "inner.zip"
    write_zip(inner, export_members())
    write_zip(folder / "download.zip", {"export_123.zip": inner.read_bytes()},
              zipfile.ZIP_STORED)
    write_zip(tmp_path / "level2.zip", {"download.zip": (folder / "download.zip").read_bytes()})
    shutil.move(tmp_path / "level2.zip", folder / "level2.zip")

    found = scan(folder)

    tcx = found.by_key()["download.zip!export_123.zip!activities/5000000003.tcx"]
    assert tcx.activity_id == 5000000003
    assert tcx.read_bytes() == (SHARED / "tcx" / "sup_activity_1.tcx").read_bytes()
    assert [p.key for p in found.problems] == ["level2.zip!download.zip!export_123.zip"]
    assert "a ZIP inside a ZIP inside a ZIP" in found.problems[0].reason
    assert not any(key.startswith("level2.zip") for key in found.by_key())


def test_zip_slip_members_are_refused_and_nothing_is_written(tmp_path):
    folder = tmp_path / "deep" / "import"
    good = (SHARED / "fit" / "garmin-fenix-5-bike.fit").read_bytes()
    write_zip(folder / "evil.zip", {
        "../evil.fit": good, "../../evil.gpx": b"<gpx/>", "/tmp/evil-abs.fit": good,
        "C:/Windows/evil.tcx": b"<tcx/>", "rides/../../escape.fit": good,
        "rides/fine.fit": good})
    before = all_files(tmp_path)

    found = scan(folder)
    for item in found.items:
        item.read_bytes()

    assert [item.key for item in found.items] == ["evil.zip!rides/fine.fit"]
    reasons = {p.key.removeprefix("evil.zip!"): p.reason for p in found.problems}
    assert set(reasons) == {"../evil.fit", "../../evil.gpx", "/tmp/evil-abs.fit",
                            "C:/Windows/evil.tcx", "rides/../../escape.fit"}
    assert "climbs out of the folder" in reasons["../evil.fit"]
    assert "absolute path" in reasons["/tmp/evil-abs.fit"]
    assert "drive letter" in reasons["C:/Windows/evil.tcx"]
    assert all("could write outside the folder" in reason for reason in reasons.values())
    assert all_files(tmp_path) == before
    assert not os.path.exists("/tmp/evil-abs.fit")


def test_compression_bombs_and_oversized_members_are_refused(tmp_path):
    folder = tmp_path / "import"
    zeros = bytes(16 * MIB)
    good = (SHARED / "fit" / "garmin-fenix-5-run.fit").read_bytes()
    write_zip(folder / "bomb.zip", {"bomb.fit": zeros, "liar.fit": zeros[: 4 * MIB],
                                    "fine.fit": good})
    _declare_size(folder / "bomb.zip", "liar.fit", 1000)  # says 1000 bytes, inflates to 4 MiB
    write_zip(folder / "big.zip", {"big.gpx": os.urandom(3 * MIB)}, zipfile.ZIP_STORED)
    (folder / "loose-bomb.fit.gz").write_bytes(gzip.compress(zeros))
    limits = ArchiveLimits(max_member_bytes=2 * MIB)

    found = scan(folder, limits)

    reasons = {p.key: p.reason for p in found.problems}
    assert "compression bomb" in reasons["bomb.zip!bomb.fit"]
    assert "more than the 2 MiB limit" in reasons["big.zip!big.gpx"]
    items = found.by_key()
    assert items["bomb.zip!fine.fit"].read_bytes() == good
    with pytest.raises(ImportRefused, match="damaged|declares"):
        items["bomb.zip!liar.fit"].read_bytes()
    with pytest.raises(ImportRefused, match="more than 2 MiB"):
        items["loose-bomb.fit.gz"].read_content(ArchiveLimits(2 * MIB, max_ratio=1e6))
    with pytest.raises(ImportRefused, match="compression bomb"):
        items["loose-bomb.fit.gz"].read_content()  # the default limit: the ratio stops it


def _declare_size(zip_path, member: str, size: int):
    """Rewrites the uncompressed size a ZIP declares for a member, as a hostile archive would."""
    data = bytearray(zip_path.read_bytes())
    name = member.encode()
    for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            if data[start + name_at: start + name_at + len(name)] == name:
                struct.pack_into("<I", data, start + size_at, size)
            start += 4
    zip_path.write_bytes(bytes(data))


def test_encrypted_and_damaged_archives_are_reported_and_the_rest_loads(tmp_path):
    folder = tmp_path / "import"
    good = (SHARED / "fit" / "garmin-fenix-5-run.fit").read_bytes()
    write_zip(folder / "locked.zip", {"locked.fit": good})
    _mark_encrypted(folder / "locked.zip")
    write_zip(tmp_path / "whole.zip", export_members())
    (folder / "half-downloaded.zip").write_bytes((tmp_path / "whole.zip").read_bytes()[:5000])
    (folder / "ride.fit").write_bytes(good)
    (folder / "notes.txt").write_text("not an activity")
    (folder / "photo.jpg").write_bytes(b"\xff\xd8")

    found = scan(folder)

    assert [item.key for item in found.items] == ["ride.fit"]
    reasons = {p.key: p.reason for p in found.problems}
    assert set(reasons) == {"locked.zip!locked.fit", "half-downloaded.zip"}
    assert "encrypted" in reasons["locked.zip!locked.fit"]
    assert "cannot be read as a ZIP" in reasons["half-downloaded.zip"]


def _mark_encrypted(zip_path):
    data = bytearray(zip_path.read_bytes())
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = data.find(signature)
        data[start + flag_at] |= 0x1
    zip_path.write_bytes(bytes(data))


def test_index_peeks_each_file_once_and_reports_what_changed(tmp_path):
    folder = tmp_path / "import"
    write_folder(folder / "export_123", export_members())
    write_folder(folder, device_files())
    (folder / "broken.fit").write_bytes(b"\x0e\x10 not a fit file")
    peek = FakePeek(dict(DEVICE_STARTS))
    index = FileIndex(tmp_path / "import_index.sqlite")

    first = index.refresh(scan(folder).items, peek)

    # Files listed in activities.csv take their start from it: only the others are peeked.
    assert sorted(peek.calls) == sorted(["broken.fit", *DEVICE_STARTS])
    assert len(first.new) == 9 and first.changed == first.removed == []
    assert first.partition_keys() == ["2020-02-29", "2020-10-07", "2020-10-24", "2021-01-01",
                                      "2021-07-04", "2023-03-01", "2023-03-02", "2023-03-05"]
    assert [(p.key, p.reason) for p in first.problems] == [
        ("broken.fit", "no activity in broken.fit")]
    march = index.items_for_days(date(2023, 3, 1), date(2023, 3, 3))
    assert [i.key for i in march] == list(DEVICE_FILES)[:2]
    assert march[1].start_date == DEVICE_STARTS["fenix-walk.FIT"]
    assert index.items_for_days(date(2021, 1, 1), date(2021, 1, 2))[0].activity_id == 5000000001

    peek.calls.clear()
    again = index.refresh(scan(folder).items, peek)
    assert peek.calls == [] and not again.any and again.days == set()

    # The walk turns out to have started a day later: old and new day are both touched.
    peek.starts["fenix-walk.FIT"] = datetime(2023, 3, 3, 6, 0, tzinfo=UTC)
    walk = folder / "GARMIN/Activity/fenix-walk.FIT"
    os.utime(walk, ns=(walk.stat().st_atime_ns, walk.stat().st_mtime_ns + 5_000_000_000))
    touched = index.refresh(scan(folder).items, peek)
    assert peek.calls == ["fenix-walk.FIT"]
    assert touched.changed == ["GARMIN/Activity/fenix-walk.FIT"] and touched.new == []
    assert touched.partition_keys() == ["2023-03-02", "2023-03-03"]

    # A fixed broken file is peeked again; a deleted one leaves its day.
    peek.calls.clear()
    peek.starts["broken.fit"] = datetime(2023, 4, 1, 8, 0, tzinfo=UTC)
    (folder / "broken.fit").write_bytes(b"\x0e\x10 a fixed fit file, longer")
    (folder / "GARMIN/Activity/edge500.fit").unlink()
    fixed = index.refresh(scan(folder).items, peek)
    assert peek.calls == ["broken.fit"]
    assert fixed.removed == ["GARMIN/Activity/edge500.fit"]
    assert fixed.partition_keys() == ["2023-03-01", "2023-04-01"]
    assert index.problems() == [] and fixed.problems == []
    assert date(2023, 3, 1) not in index.days() and date(2023, 4, 1) in index.days()


def test_index_of_an_export_zip_follows_csv_edits_and_changed_members(tmp_path):
    folder = tmp_path / "import"
    members = export_members()
    members["extra/loose.fit"] = (SHARED / "fit" / "garmin-edge-820-bike.fit").read_bytes()
    members["extra/other.fit"] = (SHARED / "fit" / "garmin-fenix-5-bike.fit").read_bytes()
    write_zip(folder / "export.zip", members)
    peek = FakePeek({"loose.fit": datetime(2022, 6, 1, 10, tzinfo=UTC),
                     "other.fit": datetime(2022, 6, 2, 10, tzinfo=UTC)})
    index = FileIndex(tmp_path / "import_index.sqlite")
    index.refresh(scan(folder).items, peek)
    assert sorted(peek.calls) == ["loose.fit", "other.fit"]

    # A new download of the export: one activity renamed in the CSV, one member changed.
    header, rows = english_export()
    rows[1][2] = "Renamed on Strava"
    members["activities.csv"] = to_csv(header, rows)
    members["extra/other.fit"] = (SHARED / "fit" / "garmin-fenix-5-walk.fit").read_bytes()
    write_zip(folder / "export.zip", members)
    peek.calls.clear()
    changes = index.refresh(scan(folder).items, peek)

    assert peek.calls == ["other.fit"]
    assert sorted(changes.changed) == ["export.zip!activities/4237621525.gpx",
                                       "export.zip!extra/other.fit"]
    assert changes.partition_keys() == ["2020-10-24", "2022-06-02"]


def test_a_reader_is_not_blocked_while_a_run_writes(tmp_path):
    index = FileIndex(tmp_path / "import_index.sqlite")
    folder = tmp_path / "import"
    write_folder(folder, device_files())
    index.refresh(scan(folder).items, FakePeek(dict(DEVICE_STARTS)))

    writer = sqlite3.connect(tmp_path / "import_index.sqlite")
    writer.execute("begin immediate")
    writer.execute("update import_items set sport_type = 'Run'")
    try:
        assert len(FileIndex(tmp_path / "import_index.sqlite").items_for_days(
            date(2023, 1, 1), date(2024, 1, 1))) == 3
    finally:
        writer.rollback()
        writer.close()
    mode = sqlite3.connect(tmp_path / "import_index.sqlite").execute("pragma journal_mode")
    assert mode.fetchone()[0] == "wal"


def test_unpacked_export_with_files_gunzipped_or_missing(tmp_path):
    folder = tmp_path / "import"
    members = export_members()
    members["activities/5000000001.fit"] = gzip.decompress(
        members.pop("activities/5000000001.fit.gz"))
    del members["activities/5000000003.tcx"]
    write_folder(folder / "export_123", members)

    found = scan(folder)

    items = found.by_key()
    assert items["export_123/activities/5000000001.fit"].activity_id == 5000000001
    paddle = items["export_123/activities.csv#5000000003"]
    assert (paddle.file_format, paddle.csv_sport_type) == ("csv_row", "StandUpPaddling")
    (problem,) = found.problems
    assert problem.key == "export_123/activities/5000000003.tcx"
    assert "holds no such file" in problem.reason


def test_refused_entries_are_listed_once_and_forgotten_when_removed(tmp_path):
    folder = tmp_path / "import"
    write_zip(folder / "evil.zip", {"../evil.fit": b"x", "ok.fit": b"y"})
    index = FileIndex(tmp_path / "import_index.sqlite")
    peek = FakePeek({"ok.fit": datetime(2024, 1, 1, tzinfo=UTC)})

    found = scan(folder)
    first = index.refresh(found.items, peek, found.problems)
    found = scan(folder)
    again = index.refresh(found.items, peek, found.problems)
    (folder / "evil.zip").unlink()
    gone = index.refresh(scan(folder).items, peek, scan(folder).problems)

    assert [(p.key, p.file_format) for p in first.problems] == [("evil.zip!../evil.fit",
                                                                 "refused")]
    assert "climbs out of the folder" in first.problems[0].reason
    assert not again.any
    assert sorted(gone.removed) == ["evil.zip!../evil.fit", "evil.zip!ok.fit"]
    assert gone.partition_keys() == ["2024-01-01"] and index.problems() == []


def test_content_hashes_see_a_new_file_that_kept_the_old_time(tmp_path):
    folder = tmp_path / "import"
    ride = folder / "ride.fit"
    write_folder(folder, {"ride.fit": b"first ride."})
    stamp = ride.stat().st_mtime_ns
    by_time, by_hash = (FileIndex(tmp_path / f"{name}.sqlite") for name in ("time", "hash"))
    peek = FakePeek({"ride.fit": datetime(2024, 1, 1, tzinfo=UTC)})
    by_time.refresh(scan(folder).items, peek)
    by_hash.refresh(scan(folder, hash_files=True).items, peek)

    ride.write_bytes(b"other ride.")  # same size, and the sync tool keeps the old time
    os.utime(ride, ns=(stamp, stamp))

    assert not by_time.refresh(scan(folder).items, peek).any
    assert by_hash.refresh(scan(folder, hash_files=True).items, peek).changed == ["ride.fit"]
