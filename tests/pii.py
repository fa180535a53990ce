"""An independent scanner for personal identifiers in Parquet files (GB 11643 ID numbers, mobile numbers)."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ID_RE = re.compile(r"(?<!\d)(\d{17}[\dXx])(?!\d)")
MOBILE_RE = re.compile(r"(?<!\d)1[3-9]\d(?:[- ]?\d{4}){2}(?!\d)")
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2, 1)


def id_check_ok(s: str) -> bool:
    """True when the 18th character is the GB 11643 check character of the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(s[:17], WEIGHTS, strict=False))
    return "10X98765432"[total % 11] == s[17].upper()


def scan_lake(root: Path) -> list[tuple[str, str, str]]:
    """Every (file, column, kind) where a string value holds a valid ID number or a mobile number."""
    hits = []
    for path in sorted(Path(root).rglob("*.parquet")):
        table = pq.read_table(path)
        for name in table.column_names:
            col = table[name]
            if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
                continue
            for v in col.to_pylist():
                if not v:
                    continue
                # Full-width digits are still digits to a reader.
                v = unicodedata.normalize("NFKC", v)
                if any(id_check_ok(m) for m in ID_RE.findall(v)):
                    hits.append((str(path), name, "id_number"))
                if MOBILE_RE.search(v):
                    hits.append((str(path), name, "mobile"))
    return hits
