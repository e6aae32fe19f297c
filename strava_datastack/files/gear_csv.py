"""The export's ``bikes.csv`` and ``shoes.csv``: the athlete's gear, by column position.

Both files have the same four columns (name, brand, model, default sport types), translated like
every export CSV, so they are read by position. They hold no gear id: activities.csv links an
activity to its gear by the gear's NAME (``Activity Gear``) and by the numeric id (``Bike`` /
``Gear``), so the name is the key that joins them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from strava_datastack.files.activities_csv import ActivitiesCsvError


@dataclass(frozen=True)
class GearRow:
    kind: str  # "bike" or "shoe"
    name: str
    brand: str
    model: str
    default_sport_types: tuple[str, ...]  # as exported (possibly translated)


GEAR_FILES = {"bikes.csv": "bike", "shoes.csv": "shoe"}


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
    if not rows:
        return []
    gear = []
    for row in rows[1:]:
        if not row or not row[0].strip():
            continue
        cells = [*row, "", "", ""][:4]
        sports = tuple(s.strip() for s in cells[3].split(",") if s.strip())
        gear.append(GearRow(kind, cells[0].strip(), cells[1].strip(), cells[2].strip(), sports))
    return gear
