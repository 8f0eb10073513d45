"""Fault injection: which failure, if any, each request gets."""

from __future__ import annotations

import hashlib
import random
from collections import OrderedDict
from collections.abc import Sequence

from openrouter_imagegen.emulator._requests import RequestRefused

__all__ = ["FAULTS", "STATUS_FAULTS", "ConnectionReset", "Faults"]

FAULTS = (
    "429",
    "500",
    "502",
    "503",
    "402",
    "403",
    "413",
    "524",
    "529",
    "timeout",
    "reset",
    "truncate",
    "slow",
    "failed",
    "refused",
    "no_image",
)

# The faults answered at once with an error status, and the message each carries.
STATUS_FAULTS = {
    "429": "Rate limit exceeded: too many requests (emulated)",
    "500": "Internal server error (emulated)",
    "502": "Provider returned error (emulated)",
    "503": "No provider available (emulated)",
    "402": "Insufficient credits: add more at openrouter.ai/credits (emulated)",
    "403": "This request was flagged by moderation (emulated)",
    "413": "Request payload too large (emulated)",
    "524": "Request timed out at the edge: please try again later (emulated)",
    "529": "Provider is overloaded: please try again later (emulated)",
}

_MAX_TIMES = 100
_IDENTITIES_KEPT = 10_000


class ConnectionReset(Exception):
    """Raised inside a response body so that the server drops the connection (`reset`)."""


class Faults:
    """Which fault each request gets, and how long the timing faults last.

    A request's `X-Emulator-Fault` header decides: `NAME` always; `NAME*N`
    for the first `N` identical requests only, so that a client's retries can
    be seen to recover (identical: the same header and body, or the same
    `X-Emulator-Request-Key` header when one is sent). Without the header, a
    fault is drawn from `names` at `rate` by a generator seeded with `seed`,
    so that a run is reproducible.
    """

    def __init__(
        self,
        names: Sequence[str] = (),
        rate: float = 0.0,
        *,
        seed: int = 0,
        hold_seconds: float = 30.0,
        slow_seconds: float = 1.0,
        retry_after: int = 1,
    ) -> None:
        unknown = sorted(set(names) - set(FAULTS))
        if unknown:
            raise ValueError(f"unknown fault(s) {unknown}; known: {', '.join(FAULTS)}")
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"fault_rate must be between 0 and 1, got {rate}")
        if hold_seconds < 0 or slow_seconds < 0 or retry_after < 0:
            raise ValueError("hold_seconds, slow_seconds and retry_after must not be negative")
        self.names = tuple(names)
        self.rate = rate
        self.hold_seconds = hold_seconds  # `timeout`: longer than any sane client timeout
        self.slow_seconds = slow_seconds  # `slow`: the delay before the first byte
        self.retry_after = retry_after  # `429`: the Retry-After header, in seconds
        self._rng = random.Random(seed)
        self._attempts: OrderedDict[str, int] = OrderedDict()

    def pick(self, asked: str | None, request_key: str | None, body: bytes) -> str | None:
        """The fault for a request with these `X-Emulator-Fault`, `-Request-Key` and body."""
        if asked:
            return self._asked(asked.strip(), request_key, body)
        if self.names and self._rng.random() < self.rate:
            return self._rng.choice(self.names)
        return None

    def _asked(self, asked: str, request_key: str | None, body: bytes) -> str | None:
        name, counted, times = asked.partition("*")
        if name not in FAULTS or (counted and not _is_count(times)):
            raise RequestRefused(
                400,
                f"X-Emulator-Fault: expected NAME or NAME*N (the first N identical requests "
                f"only, N up to {_MAX_TIMES}), NAME one of {', '.join(FAULTS)}; got {asked!r}",
            )
        if not counted:
            return name
        identity = f"{asked}\0{request_key or hashlib.sha256(body).hexdigest()}"
        attempt = self._attempts.pop(identity, 0) + 1
        self._attempts[identity] = attempt
        if len(self._attempts) > _IDENTITIES_KEPT:
            self._attempts.popitem(last=False)
        return name if attempt <= int(times) else None


def _is_count(text: str) -> bool:
    return text.isdigit() and 1 <= int(text) <= _MAX_TIMES
