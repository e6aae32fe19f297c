"""Google's encoded polyline algorithm, Strava's format for `map.polyline` and
`map.summary_polyline`: the emulator writes them, the file import derives summaries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def encode(points: Iterable[Sequence[float]], precision: int = 5) -> str:
    """Encode ``(lat, lng)`` pairs as a polyline string.

    Args:
        points: Coordinates in degrees.
        precision: Decimal places kept; Strava uses the standard 5.

    Returns:
        The encoded string ("" for no points, as Strava sends for GPS-less activities).
    """
    factor = 10**precision
    out: list[str] = []
    prev_lat = prev_lng = 0
    for lat, lng in points:
        ilat = round(lat * factor)
        ilng = round(lng * factor)
        _encode_value(ilat - prev_lat, out)
        _encode_value(ilng - prev_lng, out)
        prev_lat, prev_lng = ilat, ilng
    return "".join(out)


def _encode_value(value: int, out: list[str]) -> None:
    # Zig-zag the sign into the lowest bit, then emit 5-bit chunks, low chunk first.
    value = ~(value << 1) if value < 0 else value << 1
    while value >= 0x20:
        out.append(chr((0x20 | (value & 0x1F)) + 63))
        value >>= 5
    out.append(chr(value + 63))


def decode(encoded: str, precision: int = 5) -> list[tuple[float, float]]:
    """Decode a polyline string back into ``(lat, lng)`` pairs."""
    factor = 10**precision
    coords: list[tuple[float, float]] = []
    index = lat = lng = 0
    while index < len(encoded):
        deltas = []
        for _ in range(2):
            shift = result = 0
            while True:
                byte = ord(encoded[index]) - 63
                index += 1
                result |= (byte & 0x1F) << shift
                shift += 5
                if byte < 0x20:
                    break
            deltas.append(~(result >> 1) if result & 1 else result >> 1)
        lat += deltas[0]
        lng += deltas[1]
        coords.append((lat / factor, lng / factor))
    return coords
