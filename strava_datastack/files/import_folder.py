"""What the user dropped into the import folder: export ZIPs, unpacked exports, activity files.

The folder is read, never written: ZIPs are read in place (members on demand, nothing extracted),
so a hostile archive cannot put a file anywhere. Members that would be dangerous to unpack or to
inflate (names escaping the folder, absurd sizes, compression bombs, encrypted or too deeply
nested archives) are refused with a word per entry; everything else in the folder still loads.
Files that are not activities (photos, the ~40 other CSVs) are ignored without a word.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import re
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from strava_datastack.files.activities_csv import (
    ActivitiesCsv,
    ActivitiesCsvError,
    read_activities_csv,
)
from strava_datastack.files.gear_csv import GearRow, read_gear_csv
from strava_datastack.strava.export_format import ACTIVITIES_CSV, GEAR_FILES

ACTIVITY_FORMATS = {".fit": "fit", ".gpx": "gpx", ".tcx": "tcx"}
MIB = 1024 * 1024


@dataclass(frozen=True)
class ArchiveLimits:
    """What the reader refuses to inflate. Real activity files are far inside these."""

    max_member_bytes: int = 512 * MIB  # uncompressed size of one file
    # Real FIT/GPX/TCX files compress 2-20x; a bomb of zeros compresses ~1000x. Small members
    # may compress well without harm, so the ratio only counts above a size.
    max_ratio: float = 100.0
    ratio_applies_above: int = 1 * MIB
    max_nesting: int = 1  # ZIPs inside the export ZIP are read; ZIPs inside those are not


DEFAULT_LIMITS = ArchiveLimits()


class ImportRefused(Exception):
    """A file the reader will not read, with the reason in plain words."""

    def __init__(self, key: str, reason: str):
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


@dataclass(frozen=True)
class ImportProblem:
    key: str
    reason: str


def activity_format(name: str) -> tuple[str, bool] | None:
    """(``fit``/``gpx``/``tcx``, gzipped?) for an activity file's name, None for anything else."""
    lowered = name.lower()
    compressed = lowered.endswith(".gz")
    if compressed:
        lowered = lowered[:-3]
    dot = lowered.rfind(".")
    file_format = ACTIVITY_FORMATS.get(lowered[dot:]) if dot > 0 else None
    return (file_format, compressed) if file_format else None


@dataclass(frozen=True, eq=False)
class ImportItem:
    """One activity of the folder: a file (loose or in a ZIP), or a CSV row without a file.

    ``key`` is stable across scans (path relative to the folder, ``!member`` inside ZIPs,
    ``#<activity id>`` for a CSV row without a file). ``size`` + ``mtime_ns`` + ``content_hash``
    change when the content does. The ``csv_*`` fields come from the export's activities.csv
    when the file is listed there, so its start is known without parsing it.
    """

    key: str
    name: str  # the file's own name as stored, e.g. "4163856655.fit.gz"
    file_format: str  # "fit", "gpx", "tcx", or "csv_row" (an activity with no file)
    compressed: bool  # gzipped as stored
    size: int  # bytes as stored (uncompressed size for a ZIP member)
    mtime_ns: int | None
    content_hash: str | None  # CRC-32 of ZIP members (+ the CSV row's hash when listed)
    export_key: str | None = None  # key of the activities.csv this activity is listed in
    activity_id: int | None = None
    csv_start: datetime | None = None  # UTC
    csv_sport_type: str | None = None
    source_path: Path | None = None  # the file on disk (loose files), or the ZIP holding it
    _reader: Callable[[], bytes] | None = field(default=None, repr=False)

    @property
    def has_file(self) -> bool:
        return self._reader is not None

    @property
    def content_name(self) -> str:
        """The name without ``.gz``: what the content returned by ``read_content`` is."""
        return self.name[:-3] if self.compressed else self.name

    def read_bytes(self) -> bytes:
        """The file as stored (gzipped if it is). Raises ImportRefused past the limits."""
        if self._reader is None:
            raise ImportRefused(self.key, "this activity has no file in the export (manual entry)")
        return self._reader()

    def read_content(self, limits: ArchiveLimits = DEFAULT_LIMITS) -> bytes:
        """The file's content, un-gzipped within the limits (a .gz can be a bomb too)."""
        data = self.read_bytes()
        return gunzip_bounded(self.key, data, limits) if self.compressed else data


@dataclass
class ExportArchive:
    """One Strava export found in the folder (a ZIP or an unpacked folder)."""

    key: str  # key of its activities.csv
    activities: ActivitiesCsv | None  # None when the CSV could not be read (see problems)
    bikes: list[GearRow] = field(default_factory=list)
    shoes: list[GearRow] = field(default_factory=list)


@dataclass
class ImportScan:
    items: list[ImportItem]
    exports: list[ExportArchive]
    problems: list[ImportProblem]

    def by_key(self) -> dict[str, ImportItem]:
        return {item.key: item for item in self.items}


# ---------------------------------------------------------------------------------------------
# Bounded reading
# ---------------------------------------------------------------------------------------------
def _check_inflated(key: str, inflated: int, stored: int, limits: ArchiveLimits) -> None:
    if inflated > limits.max_member_bytes:
        raise ImportRefused(key, (
            f"refused: it unpacks to more than {limits.max_member_bytes // MIB} MiB, far beyond "
            "any activity file; it is probably damaged or hostile. Remove it from the folder."))
    if inflated > limits.ratio_applies_above and inflated > stored * limits.max_ratio:
        raise ImportRefused(key, (
            f"refused as a compression bomb: it unpacks to over {limits.max_ratio:g} times its "
            "packed size, which no activity file does. Remove it from the folder."))


def gunzip_bounded(key: str, data: bytes, limits: ArchiveLimits = DEFAULT_LIMITS) -> bytes:
    """Un-gzips ``data``, stopping as soon as the output passes the limits."""
    out = bytearray()
    pending = data
    try:
        while pending:
            inflater = zlib.decompressobj(wbits=47)  # gzip or zlib header
            chunk = inflater.decompress(pending, 1 * MIB)
            while True:
                out += chunk
                _check_inflated(key, len(out), len(data), limits)
                if inflater.eof or not inflater.unconsumed_tail:
                    break
                chunk = inflater.decompress(inflater.unconsumed_tail, 1 * MIB)
            if not inflater.eof:
                raise ImportRefused(key, "the gzip file ends early (truncated download?)")
            pending = inflater.unused_data.lstrip(b"\0")  # next gzip member, if any
    except zlib.error as exc:
        raise ImportRefused(key, f"the gzip file is damaged ({exc})") from None
    return bytes(out)


def _read_member(key: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo,
                 limits: ArchiveLimits) -> bytes:
    """A member's bytes, counted while inflating: past its declared size or the limits, stop."""
    _refusal_by_directory(key, info, 0, limits, raise_it=True)
    out = bytearray()
    try:
        with archive.open(info) as member:
            while chunk := member.read(1 * MIB):
                out += chunk
                if len(out) > info.file_size:
                    raise ImportRefused(key, (
                        "refused: it unpacks to more than the size the ZIP declares for it; "
                        "the archive is damaged or hostile. Remove it from the folder."))
                _check_inflated(key, len(out), info.compress_size, limits)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        reason = f"the ZIP entry is damaged ({exc}); download the export again"
        raise ImportRefused(key, reason) from None
    return bytes(out)


# ---------------------------------------------------------------------------------------------
# Archives, opened once per scan and read on demand. The readers are small picklable objects so
# that items can travel to worker processes.
# ---------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def _open_zip(path: str, mtime_ns: int, size: int) -> zipfile.ZipFile:  # noqa: ARG001 (cache key)
    return zipfile.ZipFile(path)


@functools.lru_cache(maxsize=4)
def _open_inner_zip(reader: _MemberReader) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(reader()))


@dataclass(frozen=True)
class _MemberReader:
    """Reads one member of a ZIP on disk, or of a ZIP inside that ZIP."""

    zip_path: str
    zip_mtime_ns: int
    zip_size: int
    member: str
    key: str
    limits: ArchiveLimits
    outer: _MemberReader | None = None  # set when the ZIP is itself a member of another

    def archive(self) -> zipfile.ZipFile:
        if self.outer is None:
            return _open_zip(self.zip_path, self.zip_mtime_ns, self.zip_size)
        return _open_inner_zip(self.outer)

    def __call__(self) -> bytes:
        try:
            archive = self.archive()
            info = archive.getinfo(self.member)
        except (KeyError, OSError, zipfile.BadZipFile) as exc:  # replaced or removed since
            raise ImportRefused(self.key, f"the archive changed while reading it ({exc}); it is "
                                "read again on the next scan") from None
        return _read_member(self.key, archive, info, self.limits)


@dataclass(frozen=True)
class _FileReader:
    path: Path
    key: str
    limits: ArchiveLimits

    def __call__(self) -> bytes:
        try:
            size = self.path.stat().st_size
            if size > self.limits.max_member_bytes:
                raise ImportRefused(self.key, (
                    f"refused: it is larger than {self.limits.max_member_bytes // MIB} MiB, far "
                    "beyond any activity file."))
            return self.path.read_bytes()
        except OSError as exc:
            raise ImportRefused(self.key, f"cannot be read ({exc.strerror or exc})") from None


# ---------------------------------------------------------------------------------------------
# Entries: files of a folder or members of a ZIP, seen the same way
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Entry:
    relpath: str  # posix path inside the folder or the ZIP
    key: str
    size: int
    mtime_ns: int | None
    crc: str | None
    reader: Callable[[], bytes]
    source_path: Path


_DRIVE = re.compile(r"^[A-Za-z]:")


def unsafe_member_name(name: str) -> str | None:
    """Why a ZIP member's name would escape the folder when unpacked, or None if it would not."""
    if name.startswith(("/", "\\")):
        return "its name is an absolute path"
    if _DRIVE.match(name):
        return "its name starts with a drive letter"
    if ".." in re.split(r"[\\/]", name):
        return "its name climbs out of the folder ('..')"
    if "\0" in name:
        return "its name holds a NUL character"
    return None


def _ignored(relpath: str) -> bool:
    """macOS resource forks (``__MACOSX/``, ``._name``) and hidden files are no activities."""
    parts = relpath.split("/")
    return "__MACOSX" in parts or any(part.startswith(".") for part in parts)


def _refusal_by_directory(key: str, info: zipfile.ZipInfo, depth: int, limits: ArchiveLimits,
                          raise_it: bool = False) -> str | None:
    """What the ZIP's own directory already tells against a member, before reading a byte."""
    reason = None
    unsafe = unsafe_member_name(info.filename)
    if unsafe:
        reason = f"refused: {unsafe}, which could write outside the folder if unpacked"
    elif info.flag_bits & 0x1:
        reason = ("refused: it is encrypted (password-protected); Strava's exports are not, so "
                  "use the archive as downloaded")
    elif (info.file_size > limits.ratio_applies_above
          and info.file_size > max(info.compress_size, 1) * limits.max_ratio):
        reason = (f"refused as a compression bomb: it declares {info.file_size // MIB} MiB "
                  f"packed into {info.compress_size} bytes, over {limits.max_ratio:g} times, "
                  "which no activity file does")
    elif info.file_size > limits.max_member_bytes:
        reason = (f"refused: it unpacks to {info.file_size // MIB} MiB, more than the "
                  f"{limits.max_member_bytes // MIB} MiB limit; far beyond any activity file")
    elif info.filename.lower().endswith(".zip") and depth >= limits.max_nesting:
        reason = ("refused: a ZIP inside a ZIP inside a ZIP; unpack the outer archive and drop "
                  "the export ZIP itself into the folder")
    if reason and raise_it:
        raise ImportRefused(key, reason)
    return reason


def _zip_entries(reader_of: Callable[[str, str], _MemberReader], archive: zipfile.ZipFile,
                 key_prefix: str, depth: int, limits: ArchiveLimits, source_path: Path,
                 problems: list[ImportProblem]) -> list[_Entry]:
    entries = []
    for info in archive.infolist():
        if info.is_dir():
            continue
        key = f"{key_prefix}!{info.filename}"
        relpath = info.filename.replace("\\", "/")
        relevant = _relevant(relpath)
        reason = _refusal_by_directory(key, info, depth, limits)
        if reason and (relevant or unsafe_member_name(info.filename)):
            problems.append(ImportProblem(key, reason))
            continue
        if not relevant or _ignored(relpath):
            continue
        entries.append(_Entry(relpath, key, info.file_size, _zip_mtime_ns(info),
                              f"{info.CRC:08x}", reader_of(info.filename, key), source_path))
    return entries


def _zip_mtime_ns(info: zipfile.ZipInfo) -> int | None:
    try:
        return int(datetime(*info.date_time).timestamp()) * 1_000_000_000
    except ValueError:
        return None


def _relevant(relpath: str) -> bool:
    name = relpath.rsplit("/", 1)[-1].lower()
    return (activity_format(name) is not None or name == ACTIVITIES_CSV or name in GEAR_FILES
            or name.endswith(".zip"))


def _folder_entries(folder: Path, limits: ArchiveLimits, hash_files: bool) -> list[_Entry]:
    entries = []
    seen_dirs: set[str] = set()
    for root, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(root)
        if real in seen_dirs:  # a symlink loop
            dirs[:] = []
            continue
        seen_dirs.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__MACOSX")
        for name in sorted(files):
            path = Path(root) / name
            relpath = path.relative_to(folder).as_posix()
            if _ignored(relpath) or not _relevant(relpath):
                continue
            try:
                stat = path.stat()
            except OSError:
                continue  # vanished between listing and stat (being moved)
            digest = None
            if hash_files and not relpath.lower().endswith(".zip"):  # members carry CRCs
                try:
                    with path.open("rb") as handle:
                        digest = hashlib.file_digest(handle, "blake2b").hexdigest()[:32]
                except OSError:
                    continue
            entries.append(_Entry(relpath, relpath, stat.st_size, stat.st_mtime_ns, digest,
                                  _FileReader(path, relpath, limits), path))
    return entries


def _expand_zips(entries: list[_Entry], depth: int, limits: ArchiveLimits,
                 problems: list[ImportProblem]) -> list[_Entry]:
    """Replaces each ZIP entry by its members (one level of nesting inside the export)."""
    out = []
    for entry in entries:
        if not entry.relpath.lower().endswith(".zip"):
            out.append(entry)
            continue
        try:
            if isinstance(entry.reader, _FileReader):
                stat = entry.source_path.stat()
                args = (str(entry.source_path), stat.st_mtime_ns, stat.st_size)
                archive = _open_zip(*args)
                outer = None
            else:
                outer = entry.reader
                args = (outer.zip_path, outer.zip_mtime_ns, outer.zip_size)
                archive = _open_inner_zip(outer)
        except ImportRefused as exc:
            problems.append(ImportProblem(entry.key, exc.reason))
            continue
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            problems.append(ImportProblem(entry.key, (
                f"cannot be read as a ZIP ({exc}); if it is still downloading, it is picked up "
                "when complete, otherwise download the export again")))
            continue

        def reader_of(member: str, key: str, args=args, outer=outer) -> _MemberReader:
            return _MemberReader(*args, member=member, key=key, limits=limits, outer=outer)

        members = _zip_entries(reader_of, archive, entry.key, depth, limits, entry.source_path,
                               problems)
        out += _expand_zips(members, depth + 1, limits, problems)
    return out


# ---------------------------------------------------------------------------------------------
# The scan
# ---------------------------------------------------------------------------------------------
_CSV_CACHE: dict[tuple, ActivitiesCsv] = {}


def _read_export_csv(entry: _Entry) -> ActivitiesCsv:
    """activities.csv of an export, parsed once per content (the sensor scans every tick)."""
    cache_key = (entry.key, entry.size, entry.mtime_ns, entry.crc)
    if cache_key not in _CSV_CACHE:
        if len(_CSV_CACHE) > 16:
            _CSV_CACHE.clear()
        _CSV_CACHE[cache_key] = read_activities_csv(entry.reader())
    return _CSV_CACHE[cache_key]


def _parent(relpath: str) -> str:
    return relpath.rsplit("/", 1)[0] + "/" if "/" in relpath else ""


def _archive_prefix(key: str) -> str:
    """The ZIP part of a key (``a.zip!``), so exports in different archives never mix."""
    return key.rsplit("!", 1)[0] + "!" if "!" in key else ""


def scan(folder: Path | str, limits: ArchiveLimits = DEFAULT_LIMITS,
         hash_files: bool = False) -> ImportScan:
    """Everything importable in ``folder``: activity files, exports with their CSVs, problems.

    A missing folder is an empty one (the user has not dropped anything yet). ``hash_files``
    adds a content hash to loose files, for folders whose modification times cannot be trusted
    (some sync tools keep the old time on a new file); it reads every file on every scan, so it
    is off by default. ZIP members always carry their CRC-32 from the archive's directory.
    """
    folder = Path(folder)
    problems: list[ImportProblem] = []
    if not folder.is_dir():
        return ImportScan([], [], [])
    entries = _expand_zips(_folder_entries(folder, limits, hash_files), 0, limits, problems)

    # Exports: each activities.csv makes its folder (inside its archive) an export root.
    exports: list[ExportArchive] = []
    listed: dict[tuple[str, str], tuple[ExportArchive, dict]] = {}  # (archive, root) -> rows
    gear_entries = [e for e in entries if e.relpath.rsplit("/", 1)[-1].lower() in GEAR_FILES]
    for entry in entries:
        if entry.relpath.rsplit("/", 1)[-1].lower() != ACTIVITIES_CSV:
            continue
        root = (_archive_prefix(entry.key), _parent(entry.relpath))
        try:
            activities = _read_export_csv(entry)
        except (ActivitiesCsvError, ImportRefused) as exc:
            problems.append(ImportProblem(entry.key, getattr(exc, "reason", None) or str(exc)))
            activities = None
        export = ExportArchive(entry.key, activities)
        for gear in gear_entries:
            if (_archive_prefix(gear.key), _parent(gear.relpath)) == root:
                kind = GEAR_FILES[gear.relpath.rsplit("/", 1)[-1].lower()]
                try:
                    gear_rows = read_gear_csv(gear.reader(), kind)
                except (ActivitiesCsvError, ImportRefused) as exc:
                    problems.append(ImportProblem(gear.key, getattr(exc, "reason", str(exc))))
                    continue
                (export.bikes if kind == "bike" else export.shoes).extend(gear_rows)
        exports.append(export)
        if activities is not None:
            problems += [ImportProblem(f"{entry.key}#line{p.row_number}", p.reason)
                         for p in activities.problems]
            rows: dict[str, list[dict]] = {}  # Filename as listed -> its rows ("" = no file)
            for row in activities.table.select(
                    ["activity_id", "activity_date", "sport_type", "filename",
                     "source_row_hash"]).to_pylist():
                filename = (row["filename"] or "").strip().replace("\\", "/")
                rows.setdefault(filename, []).append(row)
            listed[root] = (export, rows)

    items: list[ImportItem] = []
    used: set[tuple[str, int]] = set()  # (export key, activity id) that found their file
    for entry in entries:
        name = entry.relpath.rsplit("/", 1)[-1]
        found = activity_format(name)
        if not found:
            continue
        csv_row, export = None, None
        archive = _archive_prefix(entry.key)
        for (root_archive, root), (candidate, rows) in listed.items():
            if root_archive == archive and entry.relpath.startswith(root):
                inside = entry.relpath[len(root):]
                # A user who un-gzipped the export's files still has them matched to their rows.
                matches = (rows.get(inside) or rows.get(inside + ".gz")
                           or rows.get(inside.removesuffix(".gz")))
                if matches:
                    csv_row, export = matches[0], candidate
                    break
        content_hash = entry.crc
        if csv_row is not None:
            content_hash = f"{entry.crc or ''}+{csv_row['source_row_hash'][:16]}"
            used.add((export.key, csv_row["activity_id"]))
        items.append(ImportItem(
            key=entry.key, name=name, file_format=found[0], compressed=found[1],
            size=entry.size, mtime_ns=entry.mtime_ns, content_hash=content_hash,
            export_key=export.key if export else None,
            activity_id=csv_row["activity_id"] if csv_row else None,
            csv_start=csv_row["activity_date"] if csv_row else None,
            csv_sport_type=csv_row["sport_type"] if csv_row else None,
            source_path=entry.source_path, _reader=entry.reader))

    # Activities of the CSV whose file is not there (manual entries, or files left out):
    # they still are activities with a start day, so they become items without a file.
    for (archive, root), (export, rows) in listed.items():
        for filename, row_list in rows.items():
            for row in row_list:
                if (export.key, row["activity_id"]) in used:
                    continue
                if filename:
                    problems.append(ImportProblem(f"{archive}{root}{filename}", (
                        f"activities.csv lists the file {filename!r} for activity "
                        f"{row['activity_id']}, but the export holds no such file; the "
                        "activity loads from its CSV row (without samples)")))
                items.append(ImportItem(
                    key=f"{export.key}#{row['activity_id']}", name="", file_format="csv_row",
                    compressed=False, size=0, mtime_ns=None,
                    content_hash=row["source_row_hash"], export_key=export.key,
                    activity_id=row["activity_id"], csv_start=row["activity_date"],
                    csv_sport_type=row["sport_type"]))
    return ImportScan(items, exports, problems)
