"""Array helpers of the generator: string pools, codes, timestamps, seeded hashing and times of day."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dashboard.core.contract import (
    TIMESTAMP,
)
from dashboard.demo.plan import HOUR, UTC_OFFSET


def _pool(values) -> pa.Array:
    return pa.array(list(values), pa.string())


def _take(pool: pa.Array, idx: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Strings from a small pool by index; rows where `valid` is False become null."""
    ind = pa.array(idx.astype(np.int32), mask=None if valid is None else ~valid)
    return pool.take(ind)


def _ascii(mat: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """A string column from an (n, width) matrix of ASCII bytes, built without a per-row Python loop."""
    n, w = mat.shape
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int32)
    arr = pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(mat, np.uint8)))
    if valid is not None and not valid.all():
        arr = pc.if_else(pa.array(valid), arr, pa.scalar(None, pa.string()))
    return arr


def _digits(nums: np.ndarray, width: int) -> np.ndarray:
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((nums.astype(np.int64)[:, None] // powers) % 10 + 48).astype(np.uint8)


def _codes(prefix: str, nums: np.ndarray, width: int) -> pa.Array:
    head = np.frombuffer(prefix.encode(), np.uint8)
    mat = np.empty((len(nums), len(head) + width), np.uint8)
    mat[:, : len(head)] = head
    mat[:, len(head):] = _digits(nums, width)
    return _ascii(mat)


def _ts(local_s: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Asia/Shanghai wall-clock seconds → a UTC-based Arrow timestamp column (null where not valid)."""
    s = local_s if valid is None else np.where(valid, local_s, 0)
    us = (s.astype(np.int64) - UTC_OFFSET) * 1_000_000
    return pa.array(us, TIMESTAMP, mask=None if valid is None else ~valid)


def _choice(rng: np.random.Generator, p: np.ndarray, n: int) -> np.ndarray:
    cdf = np.cumsum(p, dtype=float)
    idx = np.searchsorted(cdf / cdf[-1], rng.random(n), side="right")
    return np.minimum(idx, len(p) - 1)


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a person's attributes are a pure function of the person, in any month."""
    with np.errstate(over="ignore"):
        h = h.astype(np.uint64)
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return h ^ (h >> np.uint64(31))


def _office_tod(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds after midnight within office hours, busiest mid-morning and mid-afternoon."""
    r = rng.random(n)
    u = (rng.random(n) + rng.random(n)) / 2
    tod = np.where(r < 0.53, 8.5 * HOUR + u * 3 * HOUR, 13 * HOUR + u * 4 * HOUR)
    # 午间不打烊 and 延时服务: a few windows serve over lunch and after five.
    tod = np.where(r > 0.95, 12 * HOUR + u * HOUR, tod)
    tod = np.where(r > 0.98, 17 * HOUR + u * HOUR, tod)
    return tod.astype(np.int64)


HOUR_W = np.array([2, 1, 1, 1, 1, 2, 4, 8, 14, 16, 16, 14, 10, 13, 15, 15, 14, 12, 10, 10, 9, 8, 6, 4], float)


def _any_tod(rng: np.random.Generator, n: int) -> np.ndarray:
    return _choice(rng, HOUR_W, n) * HOUR + rng.integers(0, HOUR, n)


def _ym(s: str) -> tuple[int, int]:
    try:
        y, m = (int(x) for x in s.split("-"))
        dt.date(y, m, 1)
    except ValueError as e:
        raise ValueError(f"end_month must look like 2025-06, got {s!r}") from e
    return y, m


def _add_months(ym: tuple[int, int], k: int) -> tuple[int, int]:
    n = ym[0] * 12 + ym[1] - 1 + k
    return n // 12, n % 12 + 1


def _epoch_day(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days
