"""Strava's export ``activities.csv``, in any language, read by column POSITION into a typed table.

Strava translates the header, the dates, the decimal separator and the sport names into the
athlete's language, and repeats several header names (``Elapsed Time``, ``Distance``, ``Max Heart
Rate``, ``Relative Effort``, ``Commute``), so a reader that trusts header names loses one of each
pair and fails on every localized export. The column ORDER is the same in every language: the
layout below is that order, and the reader checks the values look like it (an id that is a whole
number, a date it can read, numbers where numbers belong) before trusting it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc

# ---------------------------------------------------------------------------------------------
# The layout: one (canonical name, kind) per position, in Strava's order. Older exports hold a
# prefix of it, newer ones may append columns (kept as text, named after their header).
# Kinds: "int", "float", "bool", "timestamp", "text". Duplicated Strava names get names that say
# what they hold (the first of a pair is the summary Strava shows, the second the precise value).
# ---------------------------------------------------------------------------------------------
COLUMNS: tuple[tuple[str, str], ...] = (
    ("activity_id", "int"),  # 0  Activity ID: the API's id
    ("activity_date", "timestamp"),  # 1  Activity Date: start, UTC
    ("activity_name", "text"),  # 2
    ("activity_type", "text"),  # 3  sport name as exported (translated); see sport_type
    ("activity_description", "text"),  # 4
    ("elapsed_time", "int"),  # 5  Elapsed Time, whole seconds
    ("distance_display", "float"),  # 6  Distance in the athlete's unit (km or mi)
    ("max_heart_rate_summary", "float"),  # 7  Max Heart Rate (summary)
    ("relative_effort_summary", "float"),  # 8  Relative Effort (summary)
    ("commute", "bool"),  # 9  Commute ("true"/"false")
    ("activity_private_note", "text"),  # 10
    ("activity_gear", "text"),  # 11 the gear's NAME
    ("filename", "text"),  # 12 original upload inside the archive; empty for manual entries
    ("athlete_weight", "float"),  # 13
    ("bike_weight", "float"),  # 14
    ("elapsed_time_precise", "float"),  # 15 Elapsed Time, seconds as float
    ("moving_time", "float"),  # 16
    ("distance", "float"),  # 17 Distance in metres
    ("max_speed", "float"),  # 18 m/s
    ("average_speed", "float"),  # 19 m/s
    ("elevation_gain", "float"),  # 20
    ("elevation_loss", "float"),  # 21
    ("elevation_low", "float"),  # 22
    ("elevation_high", "float"),  # 23
    ("max_grade", "float"),  # 24
    ("average_grade", "float"),  # 25
    ("average_positive_grade", "float"),  # 26
    ("average_negative_grade", "float"),  # 27
    ("max_cadence", "float"),  # 28
    ("average_cadence", "float"),  # 29
    ("max_heart_rate", "float"),  # 30 Max Heart Rate (precise)
    ("average_heart_rate", "float"),  # 31
    ("max_watts", "float"),  # 32
    ("average_watts", "float"),  # 33
    ("calories", "float"),  # 34
    ("max_temperature", "float"),  # 35
    ("average_temperature", "float"),  # 36
    ("relative_effort", "float"),  # 37 Relative Effort (precise)
    ("total_work", "float"),  # 38
    ("number_of_runs", "float"),  # 39
    ("uphill_time", "float"),  # 40
    ("downhill_time", "float"),  # 41
    ("other_time", "float"),  # 42
    ("perceived_exertion", "float"),  # 43
    ("type", "text"),  # 44 Type (rarely filled; its form is not documented)
    ("start_time", "text"),  # 45 Start Time (rarely filled; its form is not documented)
    ("weighted_average_power", "float"),  # 46
    ("power_count", "float"),  # 47
    ("prefer_perceived_exertion", "bool"),  # 48 0.0 / 1.0
    ("perceived_relative_effort", "float"),  # 49
    ("commute_flag", "bool"),  # 50 Commute again, as 0.0 / 1.0
    ("total_weight_lifted", "float"),  # 51
    ("from_upload", "bool"),  # 52 0.0 / 1.0
    ("grade_adjusted_distance", "float"),  # 53
    ("weather_observation_time", "float"),  # 54 seconds since 1970, as exported
    ("weather_condition", "text"),  # 55
    ("weather_temperature", "float"),  # 56
    ("apparent_temperature", "float"),  # 57
    ("dewpoint", "float"),  # 58
    ("humidity", "float"),  # 59
    ("weather_pressure", "float"),  # 60
    ("wind_speed", "float"),  # 61
    ("wind_gust", "float"),  # 62
    ("wind_bearing", "float"),  # 63
    ("precipitation_intensity", "float"),  # 64
    ("sunrise_time", "float"),  # 65 seconds since 1970, as exported
    ("sunset_time", "float"),  # 66 seconds since 1970, as exported
    ("moon_phase", "float"),  # 67
    ("bike", "float"),  # 68 numeric part of a bike's gear id (8939761.0 = b8939761)
    ("gear", "float"),  # 69 numeric part of a shoe's gear id (g...)
    ("precipitation_probability", "float"),  # 70
    ("precipitation_type", "text"),  # 71
    ("cloud_cover", "float"),  # 72
    ("weather_visibility", "float"),  # 73
    ("uv_index", "float"),  # 74
    ("weather_ozone", "float"),  # 75
    ("jump_count", "float"),  # 76
    ("total_grit", "float"),  # 77
    ("average_flow", "float"),  # 78
    ("flagged", "bool"),  # 79
    ("average_elapsed_speed", "float"),  # 80
    ("dirt_distance", "float"),  # 81
    ("newly_explored_distance", "float"),  # 82
    ("newly_explored_dirt_distance", "float"),  # 83
    ("activity_count", "float"),  # 84
    ("total_steps", "float"),  # 85
    ("carbon_saved", "float"),  # 86
    ("pool_length", "float"),  # 87
    ("training_load", "float"),  # 88
    ("intensity", "float"),  # 89
    ("average_grade_adjusted_pace", "float"),  # 90
    ("timer_time", "float"),  # 91
    ("total_cycles", "float"),  # 92
    ("media", "text"),  # 93 photo paths inside the archive, "|"-separated
)
# Columns 1-15 are written in the locale's spelling (decimal comma, athlete's units).
LOCALIZED_COLUMNS = 15
COLUMN_INDEX = {name: position for position, (name, _) in enumerate(COLUMNS)}
# The oldest exports seen still had the first 13 columns (through Filename).
MIN_COLUMNS = COLUMN_INDEX["filename"] + 1
# Columns the reader adds after the exported ones.
DERIVED_COLUMNS = ("sport_type", "gear_id", "source_line", "source_row_hash")

_ARROW_TYPES = {
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "text": pa.string(),
}

# ---------------------------------------------------------------------------------------------
# Sport names as exported, per language, mapped back to Strava's sport_type. English exports
# carry display names ("Virtual Ride"); the others are translations of those.
# ---------------------------------------------------------------------------------------------
SPORT_NAMES: dict[str, dict[str, str]] = {
    "en": {
        "Ride": "Ride", "Run": "Run", "Walk": "Walk", "Hike": "Hike", "Swim": "Swim",
        "Virtual Ride": "VirtualRide", "Virtual Run": "VirtualRun", "E-Bike Ride": "EBikeRide",
        "Mountain Bike Ride": "MountainBikeRide", "Gravel Ride": "GravelRide",
        "E-Mountain Bike Ride": "EMountainBikeRide", "Trail Run": "TrailRun",
        "Alpine Ski": "AlpineSki", "Backcountry Ski": "BackcountrySki", "Nordic Ski": "NordicSki",
        "Workout": "Workout", "Weight Training": "WeightTraining", "Yoga": "Yoga",
        "Rowing": "Rowing", "Kayaking": "Kayaking", "Canoeing": "Canoeing",
        "Stand Up Paddling": "StandUpPaddling", "Inline Skate": "InlineSkate",
        "Ice Skate": "IceSkate", "Rock Climb": "RockClimbing", "Rock Climbing": "RockClimbing",
        "Snowboard": "Snowboard", "Snowshoe": "Snowshoe", "Elliptical": "Elliptical",
        "Stair-Stepper": "StairStepper", "Crossfit": "Crossfit", "Sail": "Sail",
        "Surfing": "Surfing", "Windsurf": "Windsurf", "Kitesurf": "Kitesurf", "Golf": "Golf",
        "Soccer": "Soccer", "Tennis": "Tennis", "Handcycle": "Handcycle",
        "Wheelchair": "Wheelchair", "Velomobile": "Velomobile", "Roller Ski": "RollerSki",
        "Skateboard": "Skateboard", "Pilates": "Pilates", "Badminton": "Badminton",
        "Squash": "Squash", "Table Tennis": "TableTennis", "Pickleball": "Pickleball",
        "Racquetball": "Racquetball", "Virtual Row": "VirtualRow",
        "HIIT": "HighIntensityIntervalTraining",
    },
    "cs": {
        "Jízda": "Ride", "Běh": "Run", "Chůze": "Walk", "Turistika": "Hike",
        "Plavání": "Swim", "Virtuální jízda": "VirtualRide", "Virtuální běh": "VirtualRun",
        "Jízda na elektrokole": "EBikeRide", "Jízda na horském kole": "MountainBikeRide",
        "Jízda na gravelu": "GravelRide", "Jízda na elektrickém horském kole": "EMountainBikeRide",
        "Běh v terénu": "TrailRun", "Sjezdové lyžování": "AlpineSki",
        "Skialpinismus": "BackcountrySki", "Běh na lyžích": "NordicSki", "Trénink": "Workout",
        "Posilování": "WeightTraining", "Jóga": "Yoga", "Veslování": "Rowing",
        "Jízda na kajaku": "Kayaking", "Jízda na kánoi": "Canoeing",
        "Paddleboarding": "StandUpPaddling", "Inline bruslení": "InlineSkate",
        "Bruslení": "IceSkate", "Lezení": "RockClimbing", "Snowboarding": "Snowboard",
        "Sněžnice": "Snowshoe", "Eliptický trenažér": "Elliptical", "Jachting": "Sail",
        "Surfování": "Surfing", "Windsurfing": "Windsurf", "Kitesurfing": "Kitesurf",
        "Fotbal": "Soccer", "Tenis": "Tennis", "Kolečkové lyže": "RollerSki",
    },
    "de": {
        "Radfahrt": "Ride", "Lauf": "Run", "Spaziergang": "Walk", "Wanderung": "Hike",
        "Schwimmen": "Swim", "Virtuelle Radfahrt": "VirtualRide", "Virtueller Lauf": "VirtualRun",
        "E-Bike-Fahrt": "EBikeRide", "Mountainbike-Fahrt": "MountainBikeRide",
        "Gravel-Fahrt": "GravelRide", "E-Mountainbike-Fahrt": "EMountainBikeRide",
        "Traillauf": "TrailRun", "Ski Alpin": "AlpineSki", "Skitour": "BackcountrySki",
        "Langlauf": "NordicSki", "Training": "Workout", "Krafttraining": "WeightTraining",
        "Rudern": "Rowing", "Kajakfahren": "Kayaking", "Kanufahren": "Canoeing",
        "Stand-Up-Paddling": "StandUpPaddling", "Inlineskaten": "InlineSkate",
        "Eislaufen": "IceSkate", "Klettern": "RockClimbing", "Snowboarden": "Snowboard",
        "Schneeschuhwandern": "Snowshoe", "Crosstrainer": "Elliptical", "Segeln": "Sail",
        "Surfen": "Surfing", "Windsurfen": "Windsurf", "Kitesurfen": "Kitesurf",
        "Fußball": "Soccer", "Rollski": "RollerSki",
    },
}

# ---------------------------------------------------------------------------------------------
# Date forms. Activity Date is UTC in every language; only its spelling changes.
# ---------------------------------------------------------------------------------------------
_MONTHS_EN = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_DATE_FORMS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # "Oct 7, 2020, 2:43:11 PM"
    ("en", re.compile(r"(?P<mon>[A-Za-z]{3})[a-z]*\.? (?P<d>\d{1,2}), (?P<y>\d{4}),? "
                      r"(?P<H>\d{1,2}):(?P<M>\d{2}):(?P<S>\d{2})\s?(?P<ampm>[AaPp]\.?[Mm]\.?)?")),
    # "7 Oct 2020, 14:43:11" (English, day first)
    ("en", re.compile(r"(?P<d>\d{1,2}) (?P<mon>[A-Za-z]{3})[a-z]*\.? (?P<y>\d{4}),? "
                      r"(?P<H>\d{1,2}):(?P<M>\d{2}):(?P<S>\d{2})\s?(?P<ampm>[AaPp]\.?[Mm]\.?)?")),
    # "1. 1. 2020 10:00:00" (Czech) and "01.01.2020, 10:00:00" (German)
    ("dotted", re.compile(r"(?P<d>\d{1,2})\.\s?(?P<m>\d{1,2})\.\s?(?P<y>\d{4}),?\s+"
                          r"(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?")),
    # "2020-10-07 14:43:11", "2020-10-07T14:43:11Z", "2020-10-07T14:43:11+00:00"
    ("iso", re.compile(r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})[T ](?P<H>\d{2}):(?P<M>\d{2})"
                       r"(?::(?P<S>\d{2})(?:\.\d+)?)?(?:Z|[+-]00:?00)?")),
)
_DATE_EXAMPLES = "'Oct 7, 2020, 2:43:11 PM', '1. 1. 2020 10:00:00', '01.01.2020, 10:00:00', " \
    "'2020-01-01 10:00:00'"


def parse_activity_date(text: str) -> tuple[datetime, str] | None:
    """Reads an Activity Date in any supported spelling: (UTC datetime, form name) or None."""
    text = text.strip().replace("\u202f", " ").replace("\xa0", " ")
    for form, pattern in _DATE_FORMS:
        match = pattern.fullmatch(text)
        if not match:
            continue
        parts = match.groupdict()
        if "mon" in parts:
            month = _MONTHS_EN.get(parts["mon"][:3].lower())
            if month is None:
                continue
        else:
            month = int(parts["m"])
        hour = int(parts["H"])
        ampm = (parts.get("ampm") or "").replace(".", "").lower()
        if ampm:
            if not 1 <= hour <= 12:
                return None
            hour = hour % 12 + (12 if ampm == "pm" else 0)
        try:
            value = datetime(int(parts["y"]), month, int(parts["d"]), hour, int(parts["M"]),
                             int(parts["S"] or 0), tzinfo=UTC)
        except ValueError:
            return None
        return value, form
    return None


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
    # group thousands); the metre distance and the display distance are filled for most rows.
    # Only the first columns (the summary Strava shows, in the athlete's units) follow the
    # locale; the precise columns after them keep "." in every language, so they would outvote
    # a decimal comma.
    comma = dot = 0
    numeric_positions = [
        p for p, (_, kind) in enumerate(COLUMNS[: min(len(header), LOCALIZED_COLUMNS)])
        if kind == "float"
    ]
    for row in rows[:200]:
        for position in numeric_positions:
            value = row[position] if position < len(row) else ""
            if "," in value and _is_number(value, ","):
                comma += 1
            elif "." in value:
                dot += 1
    decimal_separator = "," if comma > dot else "."
    sports = Counter(row[COLUMN_INDEX["activity_type"]] for row in rows
                     if len(row) > COLUMN_INDEX["activity_type"])
    # Month names are English-only; dotted dates are never English; ISO dates say nothing.
    if date_form == "en":
        candidates = ["en"]
    elif date_form == "dotted":
        candidates = [lang for lang in SPORT_NAMES if lang != "en"]
    else:
        candidates = list(SPORT_NAMES)
    # The language whose sport names recognise most rows wins (Yoga or Golf count for several).
    votes = {lang: sum(n for name, n in sports.items() if name in SPORT_NAMES[lang])
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
    for lang in (language, *SPORT_NAMES):
        found = SPORT_NAMES.get(lang, {}).get(name)
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
        f"activity date, e.g. {_DATE_EXAMPLES}; numbers in the numeric columns)"
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
    for position, (name, kind) in enumerate(COLUMNS[: len(header)]):
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

    Every exported column is kept, named by its position (``COLUMNS``); extra trailing columns
    of newer exports are kept as text under a name made from their header. Added columns:
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

    names = [name for name, _ in COLUMNS[: len(header)]]
    kinds = [kind for _, kind in COLUMNS[: len(header)]]
    taken = set(names) | set(DERIVED_COLUMNS)
    for extra in header[len(COLUMNS):]:
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
    "timestamp": f"a date such as {_DATE_EXAMPLES}",
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
