"""A local Strava API v3 emulator over a deterministic synthetic athlete.

It is the project's demo data source and the test double for the Strava client::

    with StravaEmulator(seed=1) as emu:
        os.environ.update(emu.env())
        ...

``serve_forever(StravaEmulator(port=8765))`` runs it in the foreground (the CLI's
``strava-datastack emulator`` command).
"""

from strava_datastack.strava.polyline import decode as decode_polyline
from strava_datastack.strava.polyline import encode as encode_polyline

from .athlete import SyntheticAthlete
from .clock import EmulatorClock
from .faults import Faults
from .server import StravaEmulator, serve_forever

__all__ = [
    "EmulatorClock",
    "Faults",
    "StravaEmulator",
    "SyntheticAthlete",
    "decode_polyline",
    "encode_polyline",
    "serve_forever",
]
