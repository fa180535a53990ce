"""How many examples a property test tries: all of them in `make test`, a quarter in the fast loop."""

from __future__ import annotations

# Set by tests/conftest.py when the run is the fast loop (`pytest -m "not slow"`).
FAST_LOOP = False


def examples(n: int) -> int:
    """`n` examples in the full suite; a quarter of them (at least 8) in the fast loop."""
    return max(8, n // 4) if FAST_LOOP else n
