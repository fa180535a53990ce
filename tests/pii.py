"""An independent scanner for personal identifiers in Parquet files (GB 11643 ID numbers, mobile numbers), written
together or in groups ("110101 19900307 1234", "138-1234-5678"), in values, column names and file names."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ID_RE = re.compile(r"(?<!\d)(\d{17}[\dXx])(?!\d)")
MOBILE_RE = re.compile(r"(?<!\d)1[3-9]\d(?:[- ]?\d{4}){2}(?!\d)")
# Separators between digits are taken out before looking, so grouped numbers read as written together; the ID's
# check character and the mobile's prefix keep ordinary numbers (dates, amounts, codes) out.
GAP_RE = re.compile(r"(?<=\d)[\s\-\u2010-\u2015\u2212.\u00b7\u30fb]{1,3}(?=\d)")
# A run id (20261204T152231-89403e) and a content-hash prefix (16+ hex digits, a letter among them), as the gate
# names its files; an ID number written in a path is all digits and stays visible.
OWN_NAMES = re.compile(r"\d{8}T\d{6}-[0-9a-f]{6}|(?=[0-9a-f]*[a-f])[0-9a-f]{16,}")
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2, 1)


def id_check_ok(s: str) -> bool:
    """True when the 18th character is the GB 11643 check character of the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(s[:17], WEIGHTS, strict=False))
    return "10X98765432"[total % 11] == s[17].upper()


def scan_text(v: str) -> list[str]:
    """The kinds of personal number ("id_number", "mobile") one text holds."""
    # Full-width digits are still digits to a reader.
    v = unicodedata.normalize("NFKC", v)
    kinds = []
    for text in (v, GAP_RE.sub("", v)):
        if "id_number" not in kinds and any(id_check_ok(m) for m in ID_RE.findall(text)):
            kinds.append("id_number")
        if "mobile" not in kinds and MOBILE_RE.search(text):
            kinds.append("mobile")
    return kinds


def scan_lake(root: Path) -> list[tuple[str, str, str]]:
    """Every (file, column, kind) where a string value, a column name or the file's name holds a valid ID number or
    a mobile number (column "<name>" for a column's name, "<file>" for the file's)."""
    hits = []
    for path in sorted(Path(root).rglob("*.parquet")):
        # Names the lake makes itself (run ids, content hashes) are not a person's number whatever their digits.
        own = OWN_NAMES.sub("", str(path.relative_to(root)))
        hits += [(str(path), "<file>", kind) for kind in scan_text(own)]
        table = pq.read_table(path)
        for name in table.column_names:
            hits += [(str(path), "<name>", kind) for kind in scan_text(name)]
            col = table[name]
            if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
                continue
            for v in col.to_pylist():
                if v:
                    hits += [(str(path), name, kind) for kind in scan_text(v)]
    return hits
