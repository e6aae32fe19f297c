"""Strava's export ``activities.csv``, in any language, read by column POSITION into a typed table.

Strava translates the header, the dates, the decimal separator and the sport names into the
athlete's language, and repeats several header names (``Elapsed Time``, ``Distance``, ``Max Heart
Rate``, ``Relative Effort``, ``Commute``), so a reader that trusts header names loses one of each
pair and fails on every localized export. The column ORDER is the same in every language: the
layout (:data:`~strava_datastack.strava.export_format.ACTIVITY_LAYOUT`, shared with the emulator
that writes archives) is that order, and the reader checks the values look like it (an id that is
a whole number, a date it can read, numbers where numbers belong) before trusting it; the header
is never trusted.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from strava_datastack.contract import ARCHIVE_DERIVED_COLUMNS, ARCHIVE_KIND_TYPES, ARROW_TYPES
from strava_datastack.strava.export_format import (
    ACTIVITY_LAYOUT,
    COLUMN_INDEX,
    DATE_EXAMPLES,
    DISPLAY_BLOCK,
    MIN_COLUMNS,
    SPORT_LABELS,
    parse_activity_date,
)

# Columns the reader adds after the exported ones (their types: the contract's).
DERIVED_COLUMNS = tuple(column.name for column in ARCHIVE_DERIVED_COLUMNS)

# A layout kind's Arrow type is its contract type's (files.archive_activities).
_ARROW_TYPES = {kind: ARROW_TYPES[data_type] for kind, data_type in ARCHIVE_KIND_TYPES.items()}


@dataclass(frozen=True)
class DetectedLocale:
    """How the export spells things: its language, date form and decimal separator."""

    language: str  # "en", "cs", "de", or "unknown" when the data does not tell
    date_form: str  # "en", "dotted" or "iso"
    decimal_separator: str  # "." or ","


@dataclass(frozen=True)
class RowProblem:
    """A row that did not parse: skipped, the others load."""

    row_number: int  # the line of the file the row starts on (the header is line 1)
    activity_id: int | None
    reason: str


@dataclass
class ActivitiesCsv:
    table: pa.Table
    locale: DetectedLocale
    problems: list[RowProblem] = field(default_factory=list)
    header: list[str] = field(default_factory=list)  # the header as exported


class ActivitiesCsvError(ValueError):
    """The file as a whole is not a readable activities.csv (nothing of it is loaded)."""


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ActivitiesCsvError(
            f"activities.csv is not UTF-8 text (byte {exc.start} cannot be read); Strava writes "
            "UTF-8, so the file was probably re-saved by another program: use the file from the "
            "archive as downloaded."
        ) from None


_NUMBER_SPACES = str.maketrans("", "", " \xa0\u202f'")


def _parse_number(text: str, decimal_separator: str) -> float:
    """A number in the export's spelling; raises ValueError for anything else."""
    text = text.strip().translate(_NUMBER_SPACES)
    if decimal_separator == ",":
        if "," in text:
            text = text.replace(".", "").replace(",", ".")
    value = float(text)  # ValueError on text
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(text)
    return value


_TRUE = {"true", "1", "1.0", "1,0", "yes", "ano", "pravda", "wahr", "ja"}
_FALSE = {"false", "0", "0.0", "0,0", "no", "ne", "nepravda", "falsch", "nein"}


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(text)


def snake_case(header: str) -> str:
    """A column name from a header of any language: ``"Průměrný výkon"`` → ``prumerny_vykon``."""
    ascii_text = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode()
    name = re.sub(r"[^0-9a-zA-Z]+", "_", ascii_text).strip("_").lower()
    return name or "column"


def _detect_locale(rows: list[list[str]], header: list[str], date_forms: Counter) -> DetectedLocale:
    """Reads the locale off the data: the date form, the decimal separator, the sport names."""
    date_form = date_forms.most_common(1)[0][0] if date_forms else "en"
    # A comma inside a numeric column's value can only be a decimal comma (English exports never
    # group thousands). The locale's separator shows in the display block (the display distance
    # is filled for most rows); Strava keeps "." in the machine block, so that block is counted
    # only when the display block tells nothing. With "," chosen, a value with a "." and no ","
    # still reads as a plain decimal, so a file with commas everywhere reads the same.
    numeric = [p for p, (_, _, kind) in enumerate(ACTIVITY_LAYOUT[: len(header)])
               if kind == "float"]
    for positions in ([p for p in numeric if p < DISPLAY_BLOCK], numeric):
        comma = dot = 0
        for row in rows[:200]:
            for position in positions:
                value = row[position] if position < len(row) else ""
                if "," in value and _is_number(value, ","):
                    comma += 1
                elif "." in value:
                    dot += 1
        if comma or dot:
            break
    decimal_separator = "," if comma > dot else "."
    sports = Counter(row[COLUMN_INDEX["activity_type"]] for row in rows
                     if len(row) > COLUMN_INDEX["activity_type"])
    # Month names are English-only; dotted dates are never English; ISO dates say nothing.
    if date_form == "en":
        candidates = ["en"]
    elif date_form == "dotted":
        candidates = [lang for lang in SPORT_LABELS if lang != "en"]
    else:
        candidates = list(SPORT_LABELS)
    # The language whose sport names recognise most rows wins (Yoga or Golf count for several).
    votes = {lang: sum(n for name, n in sports.items() if name in SPORT_LABELS[lang])
             for lang in candidates}
    best = max(votes.values(), default=0)
    tied = [lang for lang in candidates if votes[lang] == best]
    if len(tied) == 1:
        language = tied[0]
    elif date_form == "dotted" and {"cs", "de"} <= set(tied):
        # Czech writes "1. 1. 2020", German "01.01.2020".
        spaced = any(re.match(r"\d{1,2}\. \d", row[1]) for row in rows[:200] if len(row) > 1)
        language = "cs" if spaced else "de"
    else:
        language = "unknown"
    return DetectedLocale(language, date_form, decimal_separator)


def sport_type_of(exported_name: str, language: str) -> str | None:
    """Strava's sport_type for a sport name as the export spells it.

    Looks in the export's language first, then in the others (a name the table lacks in one
    language may be spelled the same as in another). An English name the table does not know
    passes through without its spaces, as Strava's own names are formed; a name in another
    language that the table does not know passes through as exported.
    """
    name = exported_name.strip()
    if not name:
        return None
    for lang in (language, *SPORT_LABELS):
        found = SPORT_LABELS.get(lang, {}).get(name)
        if found:
            return found
    if language in ("en", "unknown") and name.isascii():
        return re.sub(r"[^0-9A-Za-z]", "", name)
    return name


def _gear_id(bike: float | None, shoe: float | None) -> str | None:
    if bike is not None:
        return f"b{int(bike)}"
    if shoe is not None:
        return f"g{int(shoe)}"
    return None


def _check_layout(header: list[str], rows: list[list[str]], decimal_separator: str) -> None:
    """Refuses a file whose columns do not hold what Strava's order says they hold."""
    expected = (
        "Strava's activities.csv (column 1 the activity id, a whole number; column 2 the "
        f"activity date, e.g. {DATE_EXAMPLES}; numbers in the numeric columns)"
    )
    if len(header) < MIN_COLUMNS:
        raise ActivitiesCsvError(
            f"activities.csv has {len(header)} columns, fewer than the {MIN_COLUMNS} every export "
            f"has; expected {expected}. Use the activities.csv from the archive as downloaded."
        )
    full_rows = [row for row in rows if len(row) == len(header)][:200]  # a sample is enough
    if not full_rows:
        return  # an export with no activities (or only broken rows, reported row by row)
    ids_ok = sum(1 for row in full_rows if row[0].strip().isdigit())
    dates_ok = sum(1 for row in full_rows if parse_activity_date(row[1]))
    if ids_ok * 2 < len(full_rows) or dates_ok * 2 < len(full_rows):
        sample = full_rows[0]
        raise ActivitiesCsvError(
            f"This file does not look like {expected}: its first row starts with "
            f"{sample[0][:40]!r}, {sample[1][:40]!r}. Use the activities.csv from the archive "
            "as downloaded; if it is one, its layout is new to this project: please report it."
        )
    for position, (_, name, kind) in enumerate(ACTIVITY_LAYOUT[: len(header)]):
        if kind not in ("int", "float"):
            continue
        filled = [row[position] for row in full_rows if row[position].strip()]
        bad = [v for v in filled if not _is_number(v, decimal_separator)]
        if filled and len(bad) * 2 > len(filled):
            raise ActivitiesCsvError(
                f"This file does not look like {expected}: column {position + 1} "
                f"({header[position]!r}, expected {name.replace('_', ' ')}, a number) holds "
                f"{bad[0][:40]!r}. The columns seem shifted: use the activities.csv from the "
                "archive as downloaded; if it is one, its layout is new to this project."
            )


def _is_number(text: str, decimal_separator: str) -> bool:
    try:
        _parse_number(text, decimal_separator)
        return True
    except ValueError:
        return False


def read_activities_csv(data: bytes | str) -> ActivitiesCsv:
    """Reads an export's activities.csv (bytes as stored, or text) into a typed Arrow table.

    Every exported column is kept, named by its position (``ACTIVITY_LAYOUT``); extra trailing
    columns of newer exports are kept as text under a name made from their header. Added columns:
    ``sport_type`` (Strava's name for the translated sport), ``gear_id`` (``b…``/``g…`` from the
    numeric Bike/Gear columns), ``source_line`` and ``source_row_hash`` (to see a row change).
    Rows that do not parse are skipped and listed in ``problems``; the rest load.

    Raises:
        ActivitiesCsvError: the file as a whole is not an activities.csv of a known layout.
    """
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ActivitiesCsvError(
            "activities.csv is empty; expected a header and one row per activity. "
            "Use the activities.csv from the archive as downloaded."
        ) from None
    except csv.Error as exc:
        raise ActivitiesCsvError(f"activities.csv cannot be read as CSV: {exc}") from None
    rows: list[list[str]] = []
    starts: list[int] = []
    problems: list[RowProblem] = []
    line = reader.line_num
    while True:
        start = line + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(RowProblem(start, None, f"the row is not valid CSV ({exc})"))
            line = reader.line_num
            continue
        line = reader.line_num
        if not any(value.strip() for value in row):
            continue  # blank line
        rows.append(row)
        starts.append(start)

    date_forms = Counter()
    for row in rows[:200]:
        parsed = parse_activity_date(row[1]) if len(row) > 1 else None
        if parsed:
            date_forms[parsed[1]] += 1
    locale = _detect_locale(rows, header, date_forms)
    _check_layout(header, rows, locale.decimal_separator)

    names = [name for _, name, _ in ACTIVITY_LAYOUT[: len(header)]]
    kinds = [kind for _, _, kind in ACTIVITY_LAYOUT[: len(header)]]
    taken = set(names) | set(DERIVED_COLUMNS)
    for extra in header[len(ACTIVITY_LAYOUT):]:
        name = snake_case(extra)
        while name in taken:
            name += "_extra"
        taken.add(name)
        names.append(name)
        kinds.append("text")

    full_rows: list[list[str]] = []
    full_starts: list[int] = []
    for row, start in zip(rows, starts, strict=True):
        if len(row) == len(header):
            full_rows.append(row)
            full_starts.append(start)
            continue
        problems.append(RowProblem(start, _id_or_none(row), (
            f"the row has {len(row)} values where the header has {len(header)} columns "
            "(probably a comma or quote out of place)")))

    # Column by column (vectorized where Arrow can); a cell that does not convert marks its row.
    cells = list(zip(*full_rows, strict=True)) if full_rows else [() for _ in names]
    first_bad: dict[int, int] = {}  # row index -> first column position that did not convert
    arrays = []
    for position, (column, kind) in enumerate(zip(cells, kinds, strict=True)):
        array, failed = _column_array(column, kind, locale.decimal_separator)
        for index in failed:
            first_bad.setdefault(index, position)
            first_bad[index] = min(first_bad[index], position)
        arrays.append(array)
    row_problems: dict[int, str] = {}
    for index, position in first_bad.items():
        value = full_rows[index][position]
        row_problems[index] = (f"column {position + 1} ({header[position]!r}) holds "
                               f"{value[:40]!r}, expected {_KIND_WORDS[kinds[position]]}")
    for which, array in (("activity id", arrays[0]), ("activity date", arrays[1])):
        for index, missing in enumerate(array.is_null().to_pylist()):
            if missing:
                row_problems.setdefault(index, f"the row has no {which}")
    for index in sorted(row_problems):
        problems.append(RowProblem(full_starts[index], _id_or_none(full_rows[index]),
                                   row_problems[index]))
    problems.sort(key=lambda problem: problem.row_number)
    keep = pa.array([index not in row_problems for index in range(len(full_rows))], pa.bool_())
    arrays = [array.filter(keep) for array in arrays]
    kept = [row for index, row in enumerate(full_rows) if index not in row_problems]
    kept_starts = [s for index, s in enumerate(full_starts) if index not in row_problems]

    sport_names = {name: sport_type_of(name, locale.language) for name in set(cells[3])} if (
        len(cells) > 3) else {}
    bike_at, gear_at = COLUMN_INDEX["bike"], COLUMN_INDEX["gear"]
    bikes = arrays[bike_at].to_pylist() if len(arrays) > bike_at else [None] * len(kept)
    shoes = arrays[gear_at].to_pylist() if len(arrays) > gear_at else [None] * len(kept)
    arrays += [
        pa.array([sport_names.get(row[3]) if len(row) > 3 else None for row in kept],
                 pa.string()),
        pa.array([_gear_id(bike, shoe) for bike, shoe in zip(bikes, shoes, strict=True)],
                 pa.string()),
        pa.array(kept_starts, pa.int64()),
        pa.array([hashlib.sha1("\x1f".join(row).encode()).hexdigest() for row in kept],
                 pa.string()),
    ]
    table = pa.Table.from_arrays(arrays, names=names + list(DERIVED_COLUMNS))
    return ActivitiesCsv(table=table, locale=locale, problems=problems, header=header)


def _id_or_none(row: list[str]) -> int | None:
    return int(row[0]) if row and row[0].strip().isdigit() else None


def _column_array(column: tuple[str, ...], kind: str,
                  decimal_separator: str) -> tuple[pa.Array, list[int]]:
    """One column as an Arrow array, and the rows whose cell did not convert (null there)."""
    arrow_type = _ARROW_TYPES[kind]
    if kind == "text":
        return pa.array(column, arrow_type), []
    if kind in ("int", "float"):
        text = pc.utf8_trim_whitespace(pa.array(column, pa.string()))
        for space in ("\xa0", "\u202f", " ", "'"):
            text = pc.replace_substring(text, space, "")
        if decimal_separator == ",":
            swapped = pc.replace_substring(pc.replace_substring(text, ".", ""), ",", ".")
            text = pc.if_else(pc.match_substring(text, ","), swapped, text)
        text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
        try:
            return pc.cast(text, arrow_type), []
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass  # some cell is not plain: find which, cell by cell
    values, failed = [], []
    for index, value in enumerate(column):
        try:
            values.append(_convert(value, kind, decimal_separator))
        except ValueError:
            values.append(None)
            failed.append(index)
    return pa.array(values, arrow_type), failed


_KIND_WORDS = {
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "timestamp": f"a date such as {DATE_EXAMPLES}",
    "text": "text",
}


def _convert(value: str, kind: str, decimal_separator: str):
    """One cell in its column's type; raises ValueError when it does not hold that type."""
    if kind == "text":
        return value
    if not value.strip():
        return None
    if kind == "float":
        return _parse_number(value, decimal_separator)
    if kind == "int":
        number = _parse_number(value, decimal_separator)
        if number != int(number):
            raise ValueError(value)
        return int(number)
    if kind == "bool":
        return _parse_bool(value)
    parsed = parse_activity_date(value)
    if parsed is None:
        raise ValueError(value)
    return parsed[0]
