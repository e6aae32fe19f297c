"""The layout of Strava's export archive (``activities.csv``, ``bikes.csv``, ``shoes.csv``).

One place for the facts both sides need: the emulator writes archives in this layout and the
archive reader reads them. Nothing here imports the emulator or the API client.

Why positions, not names: ``activities.csv`` repeats five names (``Elapsed Time``, ``Distance``,
``Max Heart Rate``, ``Relative Effort``, ``Commute``) and a localized export translates every
header, while the column ORDER is the same in every language. A reader therefore identifies a
column by its position in :data:`ACTIVITY_COLUMNS` and uses the header only to detect the locale
and to check the order.

The first 15 columns are the "display block" (the athlete's units, the locale's decimal comma:
``Distance`` is km with two decimals); the rest is the "machine block" (SI units, ``.`` decimals
in every locale, floats as Strava's float32 values printed in full, e.g. ``18962.80078125``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

# Canonical (English) names by position, as in a current (94-column) export.
ACTIVITY_COLUMNS: tuple[str, ...] = (
    "Activity ID", "Activity Date", "Activity Name", "Activity Type", "Activity Description",
    "Elapsed Time", "Distance", "Max Heart Rate", "Relative Effort", "Commute",
    "Activity Private Note", "Activity Gear", "Filename", "Athlete Weight", "Bike Weight",
    "Elapsed Time", "Moving Time", "Distance", "Max Speed", "Average Speed",
    "Elevation Gain", "Elevation Loss", "Elevation Low", "Elevation High", "Max Grade",
    "Average Grade", "Average Positive Grade", "Average Negative Grade", "Max Cadence",
    "Average Cadence", "Max Heart Rate", "Average Heart Rate", "Max Watts", "Average Watts",
    "Calories", "Max Temperature", "Average Temperature", "Relative Effort", "Total Work",
    "Number of Runs", "Uphill Time", "Downhill Time", "Other Time", "Perceived Exertion",
    "Type", "Start Time", "Weighted Average Power", "Power Count",
    "Prefer Perceived Exertion", "Perceived Relative Effort", "Commute",
    "Total Weight Lifted", "From Upload", "Grade Adjusted Distance",
    "Weather Observation Time", "Weather Condition", "Weather Temperature",
    "Apparent Temperature", "Dewpoint", "Humidity", "Weather Pressure", "Wind Speed",
    "Wind Gust", "Wind Bearing", "Precipitation Intensity", "Sunrise Time", "Sunset Time",
    "Moon Phase", "Bike", "Gear", "Precipitation Probability", "Precipitation Type",
    "Cloud Cover", "Weather Visibility", "UV Index", "Weather Ozone", "Jump Count",
    "Total Grit", "Average Flow", "Flagged", "Average Elapsed Speed", "Dirt Distance",
    "Newly Explored Distance", "Newly Explored Dirt Distance", "Activity Count",
    "Total Steps", "Carbon Saved", "Pool Length", "Training Load", "Intensity",
    "Average Grade Adjusted Pace", "Timer Time", "Total Cycles", "Media",
)  # fmt: skip

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

# Sport type (the API's ``sport_type``) -> the label an export's ``Activity Type`` shows.
SPORT_NAMES_EN: dict[str, str] = {
    "Ride": "Ride", "GravelRide": "Gravel Ride", "MountainBikeRide": "Mountain Bike Ride",
    "EBikeRide": "E-Bike Ride", "EMountainBikeRide": "E-Mountain Bike Ride",
    "VirtualRide": "Virtual Ride", "Run": "Run", "TrailRun": "Trail Run",
    "VirtualRun": "Virtual Run", "Walk": "Walk", "Hike": "Hike", "Swim": "Swim",
    "AlpineSki": "Alpine Ski", "BackcountrySki": "Backcountry Ski", "NordicSki": "Nordic Ski",
    "Rowing": "Rowing", "StandUpPaddling": "Stand Up Paddling", "WeightTraining":
    "Weight Training", "Workout": "Workout", "Yoga": "Yoga",
}  # fmt: skip
SPORT_NAMES_CS: dict[str, str] = {
    "Ride": "Jízda", "GravelRide": "Jízda po šotolině", "MountainBikeRide": "Jízda na horském kole",
    "EBikeRide": "Jízda na elektrokole", "EMountainBikeRide": "Jízda na horském elektrokole",
    "VirtualRide": "Virtuální jízda", "Run": "Běh", "TrailRun": "Běh v terénu",
    "VirtualRun": "Virtuální běh", "Walk": "Chůze", "Hike": "Turistika", "Swim": "Plavání",
    "AlpineSki": "Sjezdové lyžování", "BackcountrySki": "Skialpinismus",
    "NordicSki": "Běžecké lyžování", "Rowing": "Veslování", "StandUpPaddling": "Paddleboarding",
    "WeightTraining": "Posilování", "Workout": "Trénink", "Yoga": "Jóga",
}  # fmt: skip

BIKE_COLUMNS = ("Bike Name", "Bike Brand", "Bike Model", "Bike Default Sport Types")
SHOE_COLUMNS = ("Shoe Name", "Shoe Brand", "Shoe Model", "Shoe Default Sport Types")


@dataclass(frozen=True)
class ExportLocale:
    """How one language's export writes headers, dates, decimals and sport names.

    Attributes:
        code: ``"en"`` or ``"cs"``.
        columns: Header names by position (same order as :data:`ACTIVITY_COLUMNS`).
        sport_names: ``sport_type`` -> ``Activity Type`` label.
        date_format: ``strptime`` format of ``Activity Date`` (always UTC).
        decimal_separator: In the display block (columns 0..14) only.
    """

    code: str
    columns: tuple[str, ...]
    sport_names: dict[str, str]
    date_format: str
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
        return datetime.strptime(text.strip(), self.date_format).replace(tzinfo=UTC)

    def sport_type(self, label: str) -> str | None:
        """The API ``sport_type`` for an ``Activity Type`` label, or None if unknown."""
        for sport, name in self.sport_names.items():
            if name == label:
                return sport
        return None


LOCALES: dict[str, ExportLocale] = {
    "en": ExportLocale("en", ACTIVITY_COLUMNS, SPORT_NAMES_EN, "%b %d, %Y, %I:%M:%S %p", "."),
    "cs": ExportLocale("cs", ACTIVITY_COLUMNS_CS, SPORT_NAMES_CS, "%d. %m. %Y %H:%M:%S", ","),
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
