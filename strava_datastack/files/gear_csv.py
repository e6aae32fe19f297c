"""The export's ``bikes.csv`` and ``shoes.csv``: the athlete's gear, by column position.

Both files have the same columns (:data:`~strava_datastack.strava.export_format.GEAR_FIELDS`),
translated like every export CSV, so they are read by position and the header is skipped unread.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from strava_datastack.files.activities_csv import ActivitiesCsvError
from strava_datastack.strava.export_format import GEAR_FIELDS, GEAR_FILES, GEAR_SPORT_SEPARATOR


@dataclass(frozen=True)
class GearRow:
    kind: str  # "bike" or "shoe"
    name: str
    brand: str
    model: str
    default_sport_types: tuple[str, ...]  # as exported (possibly translated)


def read_gear_csv(data: bytes | str, kind: str) -> list[GearRow]:
    """Reads bikes.csv (``kind="bike"``) or shoes.csv (``kind="shoe"``); empty rows are skipped.

    Raises:
        ActivitiesCsvError: the file is not text or has fewer than the name column.
    """
    if kind not in GEAR_FILES.values():
        raise ValueError(f"gear kind must be 'bike' or 'shoe', not {kind!r}")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ActivitiesCsvError(
                f"{kind}s.csv is not UTF-8 text; use the file from the archive as downloaded."
            ) from None
    rows = list(csv.reader(io.StringIO(data.removeprefix("\ufeff"), newline="")))
    gear = []
    for row in rows[1:]:
        if not row or not row[0].strip():
            continue
        cells = dict(zip(GEAR_FIELDS, (*row, *[""] * len(GEAR_FIELDS)), strict=False))
        sports = tuple(
            s.strip() for s in cells["default_sport_types"].split(GEAR_SPORT_SEPARATOR) if s.strip()
        )
        gear.append(GearRow(kind, cells["name"].strip(), cells["brand"].strip(),
                            cells["model"].strip(), sports))
    return gear
