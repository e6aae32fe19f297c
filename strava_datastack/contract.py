"""The raw-table contract: every table the two dlt sources write, its key, columns and types.

Two schemas: `strava` (the API load, `RAW_TABLES`) and `files` (the import folder,
`FILES_TABLES`). The one written copy. `strava/rows.py`, `strava/source.py`, `files/source.py`
and the import's parsers type their rows, Arrow tables and dlt hints from it, the dbt sources
ymls must declare the same columns (a test compares them), the raw section of
`docs/warehouse-contract.md` is generated from it (`uv run python -m
strava_datastack.contract`), and test fixtures create their tables from it. Adding a table is
one `RawTable` entry.

Types are dlt's names (`bigint`, `double`, `text`, `bool`, `timestamp`, and `timestamptz` for
dlt's timestamp with a time zone), declared instead of left to dlt's inference because a window
may hold no power or heart-rate data at all, and dbt models must still find every column. The
API's timestamps are naive (see `strava/rows.py`); the import's laps and archive dates are
instants with a zone, as their files state them.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from strava_datastack.strava.export_format import ACTIVITY_LAYOUT

#: The DuckDB schema (and dlt dataset) the Strava API's raw tables live in.
RAW_SCHEMA = "strava"
#: The DuckDB schema (and dlt dataset) of the import folder's tables.
FILES_SCHEMA = "files"

# dlt's type names -> what DuckDB (and so the dbt sources yml) calls them.
DUCKDB_TYPES = {
    "bigint": "bigint",
    "double": "double",
    "text": "varchar",
    "bool": "boolean",
    "timestamp": "timestamp",
    "timestamptz": "timestamp with time zone",
}
# ... and what Arrow calls them (tables built column-wise: samples, laps, archive rows).
ARROW_TYPES = {
    "bigint": pa.int64(),
    "double": pa.float64(),
    "text": pa.string(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us"),
    "timestamptz": pa.timestamp("us", tz="UTC"),
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str = ""

    @property
    def duckdb_type(self) -> str:
        return DUCKDB_TYPES[self.type]

    @property
    def arrow_type(self) -> pa.DataType:
        return ARROW_TYPES[self.type]

    def dlt_hint(self) -> dict[str, Any]:
        """The column as dlt declares it: nullable, and with or without a time zone."""
        if self.type in ("timestamp", "timestamptz"):
            zoned = self.type == "timestamptz"
            return {"data_type": "timestamp", "nullable": True, "timezone": zoned}
        return {"data_type": self.type, "nullable": True}


@dataclass(frozen=True)
class RawTable:
    """One raw table.

    Attributes:
        primary_key: rows with the same key are merged (a re-load replaces them).
        replaced_per_activity: instead of merging on a key, all rows of an `activity_id` are
            replaced together (streams and zones have no key of their own).
        dbt_source: whether dbt reads it (declared in the dbt sources yml, a Dagster asset
            upstream of the models); bookkeeping tables are not.
        schema: `strava` (the API) or `files` (the import folder).
        dated: its rows belong to a UTC day of activity start times, so its asset is
            daily-partitioned; the athlete's own tables (profile, gear, zones, totals) belong to
            no day and are one unpartitioned asset each (a range run still loads them once).
    """

    name: str
    description: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    replaced_per_activity: bool = False
    dbt_source: bool = True
    schema: str = RAW_SCHEMA
    dated: bool = True

    def column_types(self) -> dict[str, str]:
        return {column.name: column.type for column in self.columns}

    def dlt_columns(self) -> dict[str, dict[str, Any]]:
        """dlt's column hints: every column typed, so a window without some data still has it."""
        return {column.name: column.dlt_hint() for column in self.columns}

    def arrow_schema(self, *, without: tuple[str, ...] = ()) -> pa.Schema:
        """The table's columns as an Arrow schema, leaving out ``without`` (columns the caller
        adds later, such as the `activity_id` a parser does not know)."""
        return pa.schema([(c.name, c.arrow_type) for c in self.columns if c.name not in without])

    def create_table_sql(self, catalog: str) -> str:
        """``CREATE TABLE`` for the table as dlt makes it (with dlt's two bookkeeping columns),
        in its schema of ``catalog``: test fixtures and benchmarks make raw tables this way."""
        columns = ", ".join(f'"{c.name}" {c.duckdb_type.upper()}' for c in self.columns)
        return (
            f"CREATE TABLE {catalog}.{self.schema}.{self.name} ({columns}, "
            "_dlt_load_id VARCHAR NOT NULL, _dlt_id VARCHAR NOT NULL)"
        )

    def dlt_resource_hints(self) -> dict[str, Any]:
        """Everything a dlt resource writing the table declares: name, typed columns, key and
        write disposition (``@dlt.resource(**table.dlt_resource_hints())``)."""
        return {"name": self.name, "columns": self.dlt_columns(), **self.dlt_hints()}

    def dlt_hints(self) -> dict[str, Any]:
        """The dlt resource hints that give the table its key and write disposition."""
        if self.replaced_per_activity:
            return {
                "write_disposition": {"disposition": "merge", "strategy": "delete-insert"},
                "merge_key": "activity_id",
            }
        key = self.primary_key[0] if len(self.primary_key) == 1 else self.primary_key
        return {"primary_key": key, "write_disposition": "merge"}


def _columns(spec: str) -> tuple[Column, ...]:
    """``name type [: description]`` per line, so an entry reads like the table it describes."""
    columns = []
    for line in spec.strip().splitlines():
        declaration, _, description = line.partition(":")
        name, data_type = declaration.split()
        if data_type not in DUCKDB_TYPES:
            raise ValueError(f"column {name}: unknown type {data_type!r}")
        columns.append(Column(name, data_type, description.strip()))
    return tuple(columns)


_TABLES = [
    RawTable(
        "activities",
        "Activity summaries from GET /athlete/activities, merged on id; activities Strava no "
        "longer lists are kept with is_deleted.",
        _columns("""
            id bigint
            name text
            sport_type text
            type text
            start_date timestamp : UTC
            start_date_local timestamp : the athlete's local wall time
            timezone text
            utc_offset double : seconds
            distance double : metres
            moving_time bigint : seconds
            elapsed_time bigint : seconds
            total_elevation_gain double : metres
            elev_high double
            elev_low double
            average_speed double : m/s
            max_speed double : m/s
            average_heartrate double
            max_heartrate double
            average_cadence double
            average_watts double
            max_watts bigint
            weighted_average_watts bigint
            kilojoules double
            device_watts bool
            has_heartrate bool
            suffer_score double
            trainer bool
            commute bool
            manual bool
            private bool
            visibility text
            gear_id text
            workout_type bigint
            achievement_count bigint
            kudos_count bigint
            pr_count bigint
            athlete_id bigint
            map_summary_polyline text
            start_lat double
            start_lng double
            end_lat double
            end_lng double
            external_id text
            upload_id bigint
            is_deleted bool : Strava no longer lists it (kept, left out of the marts)
            summary_fingerprint text : hash of the summary without social counters
        """),
        primary_key=("id",),
    ),
    RawTable(
        "activity_listings",
        "Which windows of GET /athlete/activities were listed and when, so a listing is never "
        "paid for twice.",
        _columns("""
            window_start timestamp : UTC
            window_end timestamp : UTC
            listed_at timestamp : UTC
            activity_count bigint
            list_requests bigint
        """),
        primary_key=("window_start", "window_end"),
        dbt_source=False,
    ),
    RawTable(
        "activity_details",
        "Description, calories, device and full polyline from GET /activities/{id}.",
        _columns("""
            id bigint
            description text
            calories double
            device_name text
            map_polyline text
            perceived_exertion double
            summary_fingerprint text : the activity's when fetched; differs once it is stale
        """),
        primary_key=("id",),
    ),
    RawTable(
        "activity_laps",
        "Laps of an activity, taken from its detail (no extra request).",
        _columns("""
            id bigint
            activity_id bigint
            lap_index bigint
            split bigint
            name text
            start_date timestamp
            start_date_local timestamp
            elapsed_time bigint
            moving_time bigint
            distance double
            total_elevation_gain double
            average_speed double
            max_speed double
            average_cadence double
            average_heartrate double
            max_heartrate double
            average_watts double
            start_index bigint
            end_index bigint
            pace_zone bigint
        """),
        primary_key=("id",),
    ),
    RawTable(
        "activity_splits",
        "Metric (per km) and standard (per mile) splits, taken from the activity detail.",
        _columns("""
            activity_id bigint
            units text : 'metric' per km, 'standard' per mile
            split bigint
            distance double
            elapsed_time bigint
            moving_time bigint
            elevation_difference double
            average_speed double
            average_grade_adjusted_speed double
            average_heartrate double
            pace_zone bigint
        """),
        primary_key=("activity_id", "units", "split"),
    ),
    RawTable(
        "activity_best_efforts",
        "Best efforts of runs (400m ... Marathon), taken from the activity detail.",
        _columns("""
            id bigint
            activity_id bigint
            name text : '400m' ... 'Marathon'
            distance double
            elapsed_time bigint
            moving_time bigint
            start_date timestamp
            start_date_local timestamp
            pr_rank bigint
            start_index bigint
            end_index bigint
        """),
        primary_key=("id",),
    ),
    RawTable(
        "activity_streams",
        "1 Hz samples from GET /activities/{id}/streams, one row per sample; all rows of an "
        "activity are replaced together.",
        _columns("""
            activity_id bigint
            sample_index bigint
            time bigint : seconds since the start
            distance double
            lat double
            lng double
            altitude double
            velocity_smooth double
            heartrate bigint
            cadence bigint
            watts bigint
            temp bigint
            moving bool
            grade_smooth double
        """),
        replaced_per_activity=True,
    ),
    RawTable(
        "activity_zones",
        "Strava's time in zones per activity (optional: GET /activities/{id}/zones; dbt "
        "computes time in zones from the streams).",
        _columns("""
            activity_id bigint
            zone_type text : 'heartrate', 'power' or 'pace'
            bucket bigint : 1-based
            min bigint
            max bigint
            time bigint : seconds
        """),
        replaced_per_activity=True,
        dbt_source=False,
    ),
    RawTable(
        "athlete",
        "The athlete's profile (FTP, weight, measurement preference) from GET /athlete.",
        _columns("""
            id bigint
            username text
            firstname text
            lastname text
            city text
            state text
            country text
            sex text
            created_at timestamp
            updated_at timestamp
            weight double
            ftp bigint
            measurement_preference text : 'meters' or 'feet'
        """),
        primary_key=("id",),
        dated=False,
    ),
    RawTable(
        "gear",
        "Every bike ('b...') and shoe ('g...') of the athlete, from GET /gear/{id}.",
        _columns("""
            id text : 'b…' bike, 'g…' shoe
            kind text : 'bike' or 'shoe'
            name text
            brand_name text
            model_name text
            primary bool
            retired bool
            distance double : metres, Strava's odometer
        """),
        primary_key=("id",),
        dated=False,
    ),
    RawTable(
        "athlete_zones",
        "The athlete's heart-rate and power zones from GET /athlete/zones, one row per zone.",
        _columns("""
            zone_type text : 'heartrate' or 'power'
            zone bigint : 1-based
            min bigint
            max bigint : -1 = no upper bound
        """),
        primary_key=("zone_type", "zone"),
        dated=False,
    ),
    RawTable(
        "athlete_stats",
        "Strava's own totals from GET /athletes/{id}/stats: recent, year to date and all time "
        "per sport, Everyone-visible activities only.",
        _columns("""
            period text : 'recent', 'ytd' or 'all'
            sport text : 'ride', 'run' or 'swim'
            count bigint
            distance double
            moving_time bigint
            elapsed_time bigint
            elevation_gain double
        """),
        primary_key=("period", "sport"),
        dated=False,
    ),
]

RAW_TABLES: dict[str, RawTable] = {table.name: table for table in _TABLES}


# ---------------------------------------------------------------------------------------------
# Schema `files`: the import folder (Strava's export archive and loose device files). Samples,
# laps, splits and best efforts keep the API tables' columns, so dbt reads both the same way;
# what a file cannot know (Strava's ids, PR ranks, the local time zone) is left out.


def _files_copy(name: str, without: tuple[str, ...] = (), **types: str) -> tuple[Column, ...]:
    """The columns of the API's table ``name`` without ``without``, some retyped."""
    return tuple(
        Column(c.name, types.get(c.name, c.type), c.description)
        for c in RAW_TABLES[name].columns
        if c.name not in without
    )


# activities.csv kinds (strava/export_format.py) -> contract types. The archive's dates are
# instants (UTC), read with their zone.
ARCHIVE_KIND_TYPES = {
    "int": "bigint",
    "float": "double",
    "bool": "bool",
    "timestamp": "timestamptz",
    "text": "text",
}

#: Columns the archive reader (files/activities_csv.py) adds after the exported ones.
ARCHIVE_DERIVED_COLUMNS = _columns("""
    sport_type text : Strava's sport_type for the exported (translated) Activity Type
    gear_id text : 'b…' or 'g…', from the numeric Bike and Gear columns
    source_line bigint : the line of activities.csv the row starts on
    source_row_hash text : hash of the row as exported, to see it change
""")

_FILES_TABLES = [
    RawTable(
        "activities",
        "One row per imported activity: an activities.csv row of the export archive (origin "
        "'archive': Strava's id and numbers) or a loose device file (origin 'file': a negative "
        "id derived from the file's content).",
        _columns("""
            activity_id bigint
            origin text : 'archive' (a row of activities.csv) or 'file' (a loose device file)
            file_key text : the file in the import folder, if the activity has one
            file_format text : 'fit', 'gpx' or 'tcx'
            name text
            sport_type text
            start_date timestamp : UTC
            elapsed_time bigint : seconds
            moving_time bigint : seconds
            distance double : metres
            total_elevation_gain double : metres
            average_speed double : m/s
            max_speed double : m/s
            average_heartrate double
            max_heartrate double
            average_cadence double
            average_watts double
            max_watts double
            calories double
            device_name text
            description text
            gear_id text
            gear_name text : the gear's name as activities.csv gives it
            commute bool
            trainer bool
            manual bool
            samples bigint : samples in the file (0 without one)
            start_lat double : the first position in the file (files/derived.py, "Route")
            start_lng double
            end_lat double : the last position in the file
            end_lng double
            summary_polyline text : the file's track, thinned, as Strava encodes it
        """),
        replaced_per_activity=True,
        schema=FILES_SCHEMA,
    ),
    RawTable(
        "archive_activities",
        "Every column of the export archive's activities.csv, typed by position "
        "(files/activities_csv.py), plus sport_type, gear_id, source_line, source_row_hash.",
        tuple(
            Column(name, ARCHIVE_KIND_TYPES[kind], f"column {position + 1}, {header!r}")
            for position, (header, name, kind) in enumerate(ACTIVITY_LAYOUT)
        )
        + ARCHIVE_DERIVED_COLUMNS,
        replaced_per_activity=True,
        schema=FILES_SCHEMA,
    ),
    RawTable(
        "activity_streams",
        "The original files' samples (FIT, GPX, TCX), one row per sample, in the columns of "
        "strava.activity_streams.",
        _files_copy("activity_streams"),
        replaced_per_activity=True,
        schema=FILES_SCHEMA,
    ),
    RawTable(
        "activity_laps",
        "Laps recorded in the files (FIT and TCX laps; one lap otherwise); no lap id.",
        _files_copy(
            "activity_laps", ("id",), start_date="timestamptz", start_date_local="timestamptz"
        ),
        replaced_per_activity=True,
        schema=FILES_SCHEMA,
    ),
    RawTable(
        "activity_splits",
        "Metric and mile splits computed from the files' distance and time samples.",
        _files_copy("activity_splits"),
        replaced_per_activity=True,
        schema=FILES_SCHEMA,
    ),
    RawTable(
        "activity_best_efforts",
        "Best efforts (400m ... Marathon) computed from the samples of runs; no id, PR rank or "
        "start dates.",
        _files_copy(
            "activity_best_efforts", ("id", "pr_rank", "start_date", "start_date_local")
        ),
        replaced_per_activity=True,
        schema=FILES_SCHEMA,
    ),
    RawTable(
        "gear",
        "Bikes and shoes from the archive's bikes.csv and shoes.csv; activities refer to them by "
        "name.",
        _columns("""
            gear_id text : '<kind>:<name>'
            kind text : 'bike' or 'shoe'
            name text
            brand text
            model text
            default_sport_types text : JSON list of the sport names, as exported (translated)
        """),
        primary_key=("gear_id",),
        schema=FILES_SCHEMA,
        dated=False,
    ),
]

FILES_TABLES: dict[str, RawTable] = {table.name: table for table in _FILES_TABLES}

#: Every raw table by schema.
CONTRACT: dict[str, dict[str, RawTable]] = {RAW_SCHEMA: RAW_TABLES, FILES_SCHEMA: FILES_TABLES}


def dbt_source_tables(schema: str = RAW_SCHEMA) -> list[RawTable]:
    return [table for table in CONTRACT[schema].values() if table.dbt_source]


# ---------------------------------------------------------------------------------------------
# docs/warehouse-contract.md: its raw-table section is generated, between these two lines.

DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "warehouse-contract.md"
DOC_BEGIN = "<!-- raw tables: generated by `uv run python -m strava_datastack.contract` -->"
DOC_END = "<!-- end of raw tables -->"


def doc_section() -> str:
    """The raw-table section of the contract document, as markdown."""
    lines = [DOC_BEGIN]
    for schema, tables in CONTRACT.items():
        lines += ["", f"Schema `{schema}`:", ""] + _doc_table(tables)
    lines += ["", DOC_END]
    return "\n".join(lines)


def _doc_table(tables: dict[str, RawTable]) -> list[str]:
    lines = ["| table | key | what it holds, columns |", "|---|---|---|"]
    for table in tables.values():
        if table.replaced_per_activity:
            key = "all rows of an `activity_id` replaced together"
        else:
            key = ", ".join(f"`{name}`" for name in table.primary_key) + " (merge)"
        columns = ", ".join(
            f"{c.name} {c.duckdb_type.upper()}" + (f" ({c.description})" if c.description else "")
            for c in table.columns
        )
        source = "" if table.dbt_source else " Not read by dbt."
        lines.append(f"| `{table.name}` | {key} | {table.description}{source} Columns: {columns} |")
    return lines


def render_doc(text: str) -> str:
    """``text`` (the document) with its generated section replaced by the current one."""
    pattern = re.compile(re.escape(DOC_BEGIN) + ".*?" + re.escape(DOC_END), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"{DOC_PATH} has no generated section ({DOC_BEGIN} ... {DOC_END}).")
    return pattern.sub(lambda _: doc_section(), text)


if __name__ == "__main__":
    DOC_PATH.write_text(render_doc(DOC_PATH.read_text()))
    print(f"wrote the raw tables of {DOC_PATH}", file=sys.stderr)
