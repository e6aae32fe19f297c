"""activities.csv as Strava exports it: the real English sample, and Czech and German variants
translated here from it, read by position into one typed table; broken rows and alien files."""

import re
from datetime import UTC, datetime

import pytest

from strava_datastack.files.activities_csv import ActivitiesCsvError, read_activities_csv
from strava_datastack.files.gear_csv import read_gear_csv
from strava_datastack_tests.helpers import SAMPLE_CSV, english_export, to_csv

# Positions (0-based) in Strava's column order, used to build rows the way an export holds them.
ID, DATE, NAME, TYPE, DESCRIPTION, FILENAME, BIKE, GEAR = 0, 1, 2, 3, 4, 12, 68, 69


# How Strava spells things in Czech and German (translation written for these tests).
CZECH = {
    "headers": {0: "ID aktivity", 1: "Datum aktivity", 2: "Název aktivity", 3: "Typ aktivity",
                4: "Popis aktivity", 5: "Uplynulý čas", 6: "Vzdálenost", 12: "Název souboru",
                15: "Uplynulý čas", 17: "Vzdálenost", 68: "Kolo", 69: "Vybavení"},
    "sports": {"Ride": "Jízda", "Run": "Běh", "Walk": "Chůze",
               "Stand Up Paddling": "Paddleboarding"},
    "date": lambda d: f"{d.day}. {d.month}. {d.year} {d:%H:%M:%S}",
}
GERMAN = {
    "headers": {0: "Aktivitäts-ID", 1: "Aktivitätsdatum", 2: "Name der Aktivität",
                3: "Aktivitätsart", 4: "Aktivitätsbeschreibung", 5: "Verstrichene Zeit",
                6: "Distanz", 12: "Dateiname", 15: "Verstrichene Zeit", 17: "Distanz"},
    "sports": {"Ride": "Radfahrt", "Run": "Lauf", "Walk": "Spaziergang",
               "Stand Up Paddling": "Stand-Up-Paddling"},
    "date": lambda d: f"{d:%d.%m.%Y, %H:%M:%S}",
}
DECIMAL = re.compile(r"-?\d+\.\d+")


def translate(header, rows, language):
    header = [language["headers"].get(i, name) for i, name in enumerate(header)]
    translated = []
    for row in rows:
        row = [value.replace(".", ",") if DECIMAL.fullmatch(value) else value for value in row]
        row[DATE] = language["date"](datetime.strptime(row[DATE], "%b %d, %Y, %I:%M:%S %p"))
        row[TYPE] = language["sports"][row[TYPE]]
        translated.append(row)
    return header, translated


def test_real_english_sample_keeps_every_column_typed_by_position():
    result = read_activities_csv(SAMPLE_CSV.read_bytes())

    assert result.problems == []
    assert result.locale.language == "en" and result.locale.decimal_separator == "."
    table = result.table
    assert table.num_rows == 2
    assert len(set(table.column_names)) == table.num_columns >= 94
    first = table.to_pylist()[0]
    assert first["activity_id"] == 4163856655
    assert first["activity_date"] == datetime(2020, 10, 7, 14, 43, 11, tzinfo=UTC)
    # The duplicated names, each kept with what it holds.
    assert (first["elapsed_time"], first["elapsed_time_precise"]) == (5601, 5601.0)
    assert (first["distance_display"], first["distance"]) == (18.96, 18962.80078125)
    assert (first["commute"], first["commute_flag"]) == (False, False)
    assert first["from_upload"] is True
    assert first["activity_gear"] == "Pathfinder"
    assert (first["bike"], first["gear_id"]) == (8939761.0, "b8939761")
    assert first["sport_type"] == "Ride"
    assert first["filename"] == "activities/4163856655.gpx"
    assert str(table.schema.field("activity_date").type) == "timestamp[us, tz=UTC]"
    assert str(table.schema.field("elapsed_time").type) == "int64"


def test_quoted_line_breaks_manual_entries_and_shoes_load():
    header, rows = english_export()

    table = read_activities_csv(to_csv(header, rows)).table
    by_id = {row["activity_id"]: row for row in table.to_pylist()}

    run = by_id[5000000001]
    assert run["activity_name"] == "Run, with commas"
    assert run["activity_description"] == 'Line one, still one\nline two "quoted"'
    assert run["activity_date"] == datetime(2021, 1, 1, 9, 5, tzinfo=UTC)
    assert run["gear_id"] == "g12345678"
    assert by_id[5000000002]["filename"] == ""
    assert by_id[5000000002]["activity_date"] == datetime(2020, 2, 29, 23, 59, 59, tzinfo=UTC)
    assert by_id[5000000002]["gear_id"] is None
    assert by_id[5000000003]["sport_type"] == "StandUpPaddling"
    # The row after the one with a line break starts where an editor shows it.
    assert by_id[5000000002]["source_line"] == by_id[5000000001]["source_line"] + 2


@pytest.mark.parametrize(("language", "code"), [(CZECH, "cs"), (GERMAN, "de")])
def test_localized_export_loads_to_the_same_table(language, code):
    header, rows = english_export()
    english = read_activities_csv(to_csv(header, rows))

    localized = read_activities_csv(to_csv(*translate(header, rows, language)))

    assert localized.problems == []
    assert localized.locale.language == code
    assert localized.locale.decimal_separator == ","
    assert localized.locale.date_form == "dotted"
    same = [name for name in english.table.column_names
            if name not in ("activity_type", "source_row_hash")]
    assert localized.table.select(same).to_pylist() == english.table.select(same).to_pylist()
    assert localized.table.column("sport_type").to_pylist() == [
        "Ride", "Ride", "Run", "Walk", "StandUpPaddling"]


def test_iso_dates_load():
    header, rows = english_export()
    for row in rows:
        row[DATE] = datetime.strptime(row[DATE], "%b %d, %Y, %I:%M:%S %p").isoformat() + "Z"

    result = read_activities_csv(to_csv(header, rows))

    assert result.problems == []
    assert result.table.column("activity_date").to_pylist()[0] == datetime(
        2020, 10, 7, 14, 43, 11, tzinfo=UTC)


def test_a_broken_row_is_reported_and_the_others_load():
    header, rows = english_export()
    rows[2][17] = "far"  # distance in metres
    rows[3][DATE] = "yesterday"
    rows.insert(1, rows[1][:10])  # a row cut short

    result = read_activities_csv(to_csv(header, rows))

    assert sorted(result.table.column("activity_id").to_pylist()) == [
        4163856655, 4237621525, 5000000003]
    reasons = {problem.activity_id: problem for problem in result.problems}
    assert set(reasons) == {5000000001, 5000000002, 4237621525}
    assert "column 18 ('Distance') holds 'far', expected a number" in reasons[5000000001].reason
    assert "column 2" in reasons[5000000002].reason and "yesterday" in reasons[5000000002].reason
    assert "10 values" in reasons[4237621525].reason
    assert reasons[4237621525].row_number == 3  # header is line 1, first row line 2


def test_older_exports_with_fewer_columns_and_newer_ones_with_more():
    header, rows = english_export()

    older = read_activities_csv(to_csv(header[:60], [row[:60] for row in rows])).table
    newer = read_activities_csv(to_csv(
        [*header, "Výkon navíc", "Activity ID"], [[*row, "x", "y"] for row in rows])).table

    assert older.num_rows == newer.num_rows == 5
    assert "humidity" in older.column_names and "media" not in older.column_names
    assert older.column("gear_id").to_pylist()[0] is None  # the Bike column came later
    assert newer.column("vykon_navic").to_pylist() == ["x"] * 5
    assert newer.column("activity_id_extra").to_pylist() == ["y"] * 5
    assert newer.column("activity_id").to_pylist()[0] == 4163856655


def test_a_file_that_is_not_activities_csv_gets_one_clear_error():
    header, rows = english_export()
    shifted = [[*row[:3], "extra", *row[3:]] for row in rows]

    with pytest.raises(ActivitiesCsvError, match=r"column 2 the activity date"):
        read_activities_csv(b"Bike Name,Bike Brand,Bike Model,Bike Default Sport Types,a,b,c,"
                            b"d,e,f,g,h,i\nPathfinder,Canyon,Pathlite,Ride,,,,,,,,,\n")
    with pytest.raises(ActivitiesCsvError, match=r"column 6 .*expected elapsed time, a number"):
        read_activities_csv(to_csv([*header[:3], "Extra", *header[3:]], shifted))
    with pytest.raises(ActivitiesCsvError, match="fewer than the 13"):
        read_activities_csv(b"Activity ID,Activity Date\n1,\"Oct 7, 2020, 2:43:11 PM\"\n")
    with pytest.raises(ActivitiesCsvError, match="not UTF-8"):
        read_activities_csv("ID aktivity,Jízda".encode("cp1250"))


def test_gear_csvs():
    bikes = read_gear_csv(
        "Bike Name,Bike Brand,Bike Model,Bike Default Sport Types\n"
        'Pathfinder,Canyon,Pathlite,"Ride,GravelRide"\nTopstone,Cannondale,Topstone 105,\n',
        "bike")
    shoes = read_gear_csv(b"Shoe Name,Shoe Brand,Shoe Model,Shoe Default Sport Types\n"
                          b"Pegasus,Nike,Pegasus 39,Run\n", "shoe")

    assert [(b.name, b.brand, b.model, b.default_sport_types) for b in bikes] == [
        ("Pathfinder", "Canyon", "Pathlite", ("Ride", "GravelRide")),
        ("Topstone", "Cannondale", "Topstone 105", ())]
    assert [(s.kind, s.name) for s in shoes] == [("shoe", "Pegasus")]


@pytest.mark.parametrize(("language", "code"), [(CZECH, "cs"), (GERMAN, "de")])
def test_language_told_by_the_date_when_sport_names_are_shared(language, code):
    header, rows = translate(*english_export(), language)
    for row in rows:
        row[TYPE] = "Yoga"  # spelled alike in English and German

    result = read_activities_csv(to_csv(header, rows))

    assert result.locale.language == code
    assert set(result.table.column("sport_type").to_pylist()) == {"Yoga"}
