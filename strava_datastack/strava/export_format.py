"""The layout of Strava's export archive (``activities.csv``, ``bikes.csv``, ``shoes.csv``).

The one place for the facts both sides need: the emulator writes archives in this layout
(:mod:`strava_datastack.emulator.archive`) and the archive reader reads them
(:mod:`strava_datastack.files.activities_csv`, :mod:`strava_datastack.files.gear_csv`). Nothing
here imports the emulator, the reader or the API client.

Why positions, not names: ``activities.csv`` repeats five names (``Elapsed Time``, ``Distance``,
``Max Heart Rate``, ``Relative Effort``, ``Commute``) and a localized export translates every
header, while the column ORDER is the same in every language. A reader therefore identifies a
column by its position in :data:`ACTIVITY_LAYOUT` and uses the header only to detect the locale
and to check the order.

The first 15 columns are the "display block" (the athlete's units, the locale's decimal comma:
``Distance`` is km with two decimals); the rest is the "machine block" (SI units, ``.`` decimals
in every locale, floats as Strava's float32 values printed in full, e.g. ``18962.80078125``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

ACTIVITIES_CSV = "activities.csv"

# ---------------------------------------------------------------------------------------------
# activities.csv, one (English header, canonical name, kind) per position, as in a current
# (94-column) export. Older exports hold a prefix of it, newer ones may append columns.
# Kinds: "int", "float", "bool", "timestamp", "text". Headers that Strava repeats get canonical
# names that say what they hold (the first of a pair is the summary Strava shows, the second the
# precise value).
# ---------------------------------------------------------------------------------------------
ACTIVITY_LAYOUT: tuple[tuple[str, str, str], ...] = (
    ("Activity ID", "activity_id", "int"),  # 0 the API's id
    ("Activity Date", "activity_date", "timestamp"),  # 1 start, UTC
    ("Activity Name", "activity_name", "text"),  # 2
    ("Activity Type", "activity_type", "text"),  # 3 sport name as exported translated
    ("Activity Description", "activity_description", "text"),  # 4
    ("Elapsed Time", "elapsed_time", "int"),  # 5 whole seconds
    ("Distance", "distance_display", "float"),  # 6 in the athlete's unit (km or mi)
    ("Max Heart Rate", "max_heart_rate_summary", "float"),  # 7 (summary)
    ("Relative Effort", "relative_effort_summary", "float"),  # 8 (summary)
    ("Commute", "commute", "bool"),  # 9 ("true"/"false")
    ("Activity Private Note", "activity_private_note", "text"),  # 10
    ("Activity Gear", "activity_gear", "text"),  # 11 the gear's NAME
    ("Filename", "filename", "text"),  # 12 the upload in the archive; empty if manual
    ("Athlete Weight", "athlete_weight", "float"),  # 13
    ("Bike Weight", "bike_weight", "float"),  # 14
    ("Elapsed Time", "elapsed_time_precise", "float"),  # 15 seconds as float
    ("Moving Time", "moving_time", "float"),  # 16
    ("Distance", "distance", "float"),  # 17 in metres
    ("Max Speed", "max_speed", "float"),  # 18 m/s
    ("Average Speed", "average_speed", "float"),  # 19 m/s
    ("Elevation Gain", "elevation_gain", "float"),  # 20
    ("Elevation Loss", "elevation_loss", "float"),  # 21
    ("Elevation Low", "elevation_low", "float"),  # 22
    ("Elevation High", "elevation_high", "float"),  # 23
    ("Max Grade", "max_grade", "float"),  # 24
    ("Average Grade", "average_grade", "float"),  # 25
    ("Average Positive Grade", "average_positive_grade", "float"),  # 26
    ("Average Negative Grade", "average_negative_grade", "float"),  # 27
    ("Max Cadence", "max_cadence", "float"),  # 28
    ("Average Cadence", "average_cadence", "float"),  # 29
    ("Max Heart Rate", "max_heart_rate", "float"),  # 30 (precise)
    ("Average Heart Rate", "average_heart_rate", "float"),  # 31
    ("Max Watts", "max_watts", "float"),  # 32
    ("Average Watts", "average_watts", "float"),  # 33
    ("Calories", "calories", "float"),  # 34
    ("Max Temperature", "max_temperature", "float"),  # 35
    ("Average Temperature", "average_temperature", "float"),  # 36
    ("Relative Effort", "relative_effort", "float"),  # 37 (precise)
    ("Total Work", "total_work", "float"),  # 38
    ("Number of Runs", "number_of_runs", "float"),  # 39
    ("Uphill Time", "uphill_time", "float"),  # 40
    ("Downhill Time", "downhill_time", "float"),  # 41
    ("Other Time", "other_time", "float"),  # 42
    ("Perceived Exertion", "perceived_exertion", "float"),  # 43
    ("Type", "type", "text"),  # 44 (rarely filled; its form is not documented)
    ("Start Time", "start_time", "text"),  # 45 (rarely filled; its form is not documented)
    ("Weighted Average Power", "weighted_average_power", "float"),  # 46
    ("Power Count", "power_count", "float"),  # 47
    ("Prefer Perceived Exertion", "prefer_perceived_exertion", "bool"),  # 48 0.0 / 1.0
    ("Perceived Relative Effort", "perceived_relative_effort", "float"),  # 49
    ("Commute", "commute_flag", "bool"),  # 50 again, as 0.0 / 1.0
    ("Total Weight Lifted", "total_weight_lifted", "float"),  # 51
    ("From Upload", "from_upload", "bool"),  # 52 0.0 / 1.0
    ("Grade Adjusted Distance", "grade_adjusted_distance", "float"),  # 53
    ("Weather Observation Time", "weather_observation_time", "float"),  # 54 seconds since 1970
    ("Weather Condition", "weather_condition", "text"),  # 55
    ("Weather Temperature", "weather_temperature", "float"),  # 56
    ("Apparent Temperature", "apparent_temperature", "float"),  # 57
    ("Dewpoint", "dewpoint", "float"),  # 58
    ("Humidity", "humidity", "float"),  # 59
    ("Weather Pressure", "weather_pressure", "float"),  # 60
    ("Wind Speed", "wind_speed", "float"),  # 61
    ("Wind Gust", "wind_gust", "float"),  # 62
    ("Wind Bearing", "wind_bearing", "float"),  # 63
    ("Precipitation Intensity", "precipitation_intensity", "float"),  # 64
    ("Sunrise Time", "sunrise_time", "float"),  # 65 seconds since 1970, as exported
    ("Sunset Time", "sunset_time", "float"),  # 66 seconds since 1970, as exported
    ("Moon Phase", "moon_phase", "float"),  # 67
    ("Bike", "bike", "float"),  # 68 numeric part of a bike's gear id (8939761.0 = b8939761)
    ("Gear", "gear", "float"),  # 69 numeric part of a shoe's gear id (g...)
    ("Precipitation Probability", "precipitation_probability", "float"),  # 70
    ("Precipitation Type", "precipitation_type", "text"),  # 71
    ("Cloud Cover", "cloud_cover", "float"),  # 72
    ("Weather Visibility", "weather_visibility", "float"),  # 73
    ("UV Index", "uv_index", "float"),  # 74
    ("Weather Ozone", "weather_ozone", "float"),  # 75
    ("Jump Count", "jump_count", "float"),  # 76
    ("Total Grit", "total_grit", "float"),  # 77
    ("Average Flow", "average_flow", "float"),  # 78
    ("Flagged", "flagged", "bool"),  # 79
    ("Average Elapsed Speed", "average_elapsed_speed", "float"),  # 80
    ("Dirt Distance", "dirt_distance", "float"),  # 81
    ("Newly Explored Distance", "newly_explored_distance", "float"),  # 82
    ("Newly Explored Dirt Distance", "newly_explored_dirt_distance", "float"),  # 83
    ("Activity Count", "activity_count", "float"),  # 84
    ("Total Steps", "total_steps", "float"),  # 85
    ("Carbon Saved", "carbon_saved", "float"),  # 86
    ("Pool Length", "pool_length", "float"),  # 87
    ("Training Load", "training_load", "float"),  # 88
    ("Intensity", "intensity", "float"),  # 89
    ("Average Grade Adjusted Pace", "average_grade_adjusted_pace", "float"),  # 90
    ("Timer Time", "timer_time", "float"),  # 91
    ("Total Cycles", "total_cycles", "float"),  # 92
    ("Media", "media", "text"),  # 93 photo paths inside the archive, "|"-separated
)
ACTIVITY_COLUMNS: tuple[str, ...] = tuple(header for header, _, _ in ACTIVITY_LAYOUT)
COLUMN_INDEX: dict[str, int] = {name: at for at, (_, name, _) in enumerate(ACTIVITY_LAYOUT)}
# The oldest exports seen still had the first 13 columns (through Filename).
MIN_COLUMNS = COLUMN_INDEX["filename"] + 1

# Czech headers by position. Columns 1-35 are as seen in real Czech exports; the rest are
# translations in the same style (assumed: no real Czech header past column 35 was at hand).
ACTIVITY_COLUMNS_CS: tuple[str, ...] = (
    "ID aktivity", "Datum aktivity", "Název aktivity", "Typ aktivity", "Popis aktivity",
    "Uplynulý čas", "Vzdálenost", "Maximální tepová frekvence", "Relativní úsilí", "Dojíždění",
    "Soukromá poznámka k aktivitě", "Vybavení na aktivitu", "Název souboru",
    "Hmotnost sportovce", "Hmotnost kola",
    "Uplynulý čas", "Aktivní čas", "Vzdálenost", "Maximální rychlost", "Průměrná rychlost",
    "Nastoupaná výška", "Naklesaná výška", "Nejnižší nadmořská výška",
    "Nejvyšší nadmořská výška", "Maximální sklon", "Průměrný sklon",
    "Průměrný pozitivní sklon", "Průměrný záporný sklon", "Maximální kadence",
    "Průměrná kadence", "Maximální tepová frekvence", "Průměrná tepová frekvence",
    "Maximální výkon ve wattech", "Průměrný výkon ve wattech", "Kalorie",
    "Maximální teplota", "Průměrná teplota", "Relativní úsilí", "Celková práce",
    "Počet jízd", "Čas do kopce", "Čas z kopce", "Ostatní čas", "Vnímaná námaha", "Typ",
    "Čas zahájení", "Vážený průměrný výkon", "Počet hodnot výkonu",
    "Upřednostnit vnímanou námahu", "Vnímané relativní úsilí", "Dojíždění",
    "Celková zvednutá hmotnost", "Z nahraného souboru", "Vzdálenost upravená podle sklonu",
    "Čas pozorování počasí", "Povětrnostní podmínky", "Teplota počasí", "Pocitová teplota",
    "Rosný bod", "Vlhkost", "Tlak vzduchu", "Rychlost větru", "Nárazy větru", "Směr větru",
    "Intenzita srážek", "Čas východu slunce", "Čas západu slunce", "Fáze měsíce", "Kolo",
    "Vybavení", "Pravděpodobnost srážek", "Typ srážek", "Oblačnost", "Viditelnost",
    "UV index", "Ozon", "Počet skoků", "Celková náročnost", "Průměrná plynulost",
    "Nahlášeno", "Průměrná celková rychlost", "Vzdálenost po nezpevněném povrchu",
    "Nově prozkoumaná vzdálenost", "Nově prozkoumaná vzdálenost po nezpevněném povrchu",
    "Počet aktivit", "Celkový počet kroků", "Ušetřené emise", "Délka bazénu",
    "Tréninková zátěž", "Intenzita", "Průměrné tempo upravené podle sklonu", "Čas stopek",
    "Celkový počet cyklů", "Média",
)  # fmt: skip

DISPLAY_BLOCK = 15  # columns 0..14 follow the locale's decimal separator and units

# ---------------------------------------------------------------------------------------------
# Sport labels as exported (``Activity Type``), per language, mapped to the API's sport_type.
# Stored in this direction because a sport may have several labels (old and new spellings); a
# writer takes a sport's first label (:meth:`ExportLocale.sport_label`). English exports carry
# display names ("Virtual Ride"); the others are translations of those.
# ---------------------------------------------------------------------------------------------
SPORT_LABELS: dict[str, dict[str, str]] = {
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
        # Two spellings for three sports: both are read; the first is the one the emulator writes.
        "Jízda po šotolině": "GravelRide", "Jízda na gravelu": "GravelRide",
        "Jízda na horském elektrokole": "EMountainBikeRide",
        "Jízda na elektrickém horském kole": "EMountainBikeRide",
        "Běh v terénu": "TrailRun", "Sjezdové lyžování": "AlpineSki",
        "Skialpinismus": "BackcountrySki", "Běžecké lyžování": "NordicSki",
        "Běh na lyžích": "NordicSki", "Trénink": "Workout",
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
}  # fmt: skip

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
DATE_EXAMPLES = "'Oct 7, 2020, 2:43:11 PM', '1. 1. 2020 10:00:00', '01.01.2020, 10:00:00', " \
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


# ---------------------------------------------------------------------------------------------
# bikes.csv and shoes.csv: the same four columns, by position (translated like every export
# CSV). They hold no gear id: activities.csv names the gear (``Activity Gear``), so the name is
# the key that joins them.
# ---------------------------------------------------------------------------------------------
GEAR_FILES = {"bikes.csv": "bike", "shoes.csv": "shoe"}
GEAR_FIELDS = ("name", "brand", "model", "default_sport_types")
GEAR_SPORT_SEPARATOR = ","  # inside the default sport types cell
BIKE_COLUMNS = ("Bike Name", "Bike Brand", "Bike Model", "Bike Default Sport Types")
SHOE_COLUMNS = ("Shoe Name", "Shoe Brand", "Shoe Model", "Shoe Default Sport Types")


@dataclass(frozen=True)
class ExportLocale:
    """How one language's export writes headers, dates, decimals and sport names.

    Attributes:
        code: ``"en"`` or ``"cs"`` (a key of :data:`SPORT_LABELS`).
        columns: Header names by position (same order as :data:`ACTIVITY_LAYOUT`).
        date_form: The name :func:`parse_activity_date` gives this locale's ``Activity Date``.
        decimal_separator: In the display block (columns 0..14) only.
    """

    code: str
    columns: tuple[str, ...]
    date_form: str
    decimal_separator: str

    def format_date(self, when: datetime) -> str:
        """``Oct 7, 2020, 2:43:11 PM`` (en) or ``7. 10. 2020 14:43:11`` (cs), in UTC."""
        when = when.astimezone(UTC)
        if self.code == "en":
            hour = when.hour % 12 or 12
            return (
                f"{when:%b} {when.day}, {when.year}, {hour}:{when:%M:%S} "
                f"{'AM' if when.hour < 12 else 'PM'}"
            )
        return f"{when.day}. {when.month}. {when.year} {when.hour}:{when:%M:%S}"

    def parse_date(self, text: str) -> datetime:
        """The aware UTC datetime of an ``Activity Date`` cell.

        Raises:
            ValueError: The text is not a date in this locale's form.
        """
        parsed = parse_activity_date(text)
        if parsed is None or parsed[1] != self.date_form:
            raise ValueError(f"{text!r} is not an Activity Date as the {self.code!r} export has it")
        return parsed[0]

    def sport_label(self, sport_type: str) -> str:
        """The ``Activity Type`` label for an API ``sport_type`` (the sport_type if unknown)."""
        for label, sport in SPORT_LABELS[self.code].items():
            if sport == sport_type:
                return label
        return sport_type

    def sport_type(self, label: str) -> str | None:
        """The API ``sport_type`` for an ``Activity Type`` label, or None if unknown."""
        return SPORT_LABELS[self.code].get(label)


LOCALES: dict[str, ExportLocale] = {
    "en": ExportLocale("en", ACTIVITY_COLUMNS, "en", "."),
    "cs": ExportLocale("cs", ACTIVITY_COLUMNS_CS, "dotted", ","),
}


def detect_locale(header: list[str] | tuple[str, ...]) -> ExportLocale:
    """The locale whose headers match ``header`` position by position.

    Exports may grow columns at the end over time, so a longer header whose first columns match
    is accepted; a shorter or reordered one is not.

    Raises:
        ValueError: No known locale matches, with the first mismatching column named.
    """
    for locale in LOCALES.values():
        if tuple(header[: len(locale.columns)]) == locale.columns:
            return locale
    known = ", ".join(LOCALES)
    first = header[0] if header else "(empty)"
    raise ValueError(
        f"activities.csv has a header this project does not know (first column {first!r}, "
        f"{len(header)} columns; expected the {len(ACTIVITY_COLUMNS)} columns of a Strava "
        f"export in one of: {known})"
    )
