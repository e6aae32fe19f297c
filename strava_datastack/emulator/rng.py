"""Deterministic randomness keyed by (seed, purpose), independent of the wall clock."""

from __future__ import annotations

import hashlib
import random


def rng_for(*key: object) -> random.Random:
    """A ``random.Random`` whose sequence depends only on ``key``.

    Hashing the key (instead of seeding with ``hash()``) keeps the stream identical across
    processes and Python versions, which is what makes same-seed payloads byte-identical.
    """
    digest = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def hex_token(*key: object, length: int = 40) -> str:
    """A stable hex string (Strava's tokens and embed tokens are 40 hex digits)."""
    out = ""
    counter = 0
    while len(out) < length:
        out += hashlib.sha1(repr((key, counter)).encode()).hexdigest()
        counter += 1
    return out[:length]
