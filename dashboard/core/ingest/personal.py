"""Personal data at the gate (个人信息): ID-card and mobile numbers scrubbed from text, applicants' ID numbers kept
only as keyed hashes, identifiers that hold a personal number caught, quarantined rows stripped of personal columns."""

from __future__ import annotations

import hmac
import json
import os
import secrets

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dashboard.core.contract import Table
from dashboard.core.ingest.parsing import nfkc
from dashboard.core.lake import Lake

SCRUBBED = "[已脱敏]"  # already in NFKC form, like every stored string
# A gap a writer may leave between digit groups: spaces, or a hyphen or dash with a space either side. Full-width
# forms are listed too, for text that was not NFKC-normalised (a file name).
_GAP = r"(?:[ \x{3000}]{1,2}|[ \x{3000}]?[-\x{2010}-\x{2015}\x{2212}\x{FF0D}][ \x{3000}]?)"
# A dot is a gap only when it separates every group: "138.1234.5678" is a phone, "1381234.5678" an amount.
_DOT = r"[ \x{3000}]?[.\x{00B7}\x{30FB}\x{FF0E}\x{FF65}][ \x{3000}]?"


def _grouped(*groups: str) -> str:
    """Digit groups written together, with a gap between any of them, or with a dot between all of them."""
    return f"(?:{(_GAP + '?').join(groups)}|{_DOT.join(groups)})"


_REGION, _SEQ, _SEQ15 = r"[1-9]\d{5}", r"\d{3}[0-9Xx]", r"\d{3}"
_MOBILE = _grouped(r"1[3-9]\d", r"\d{4}", r"\d{4}")
_DATE = rf"(?:18|19|20)\d{{2}}{_GAP}?(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
_DATE6 = r"\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
# Mainland ID-card numbers (GB 11643) and mobile numbers, as they may appear inside free text: region, birth date
# and sequence ("110101 19900307 1234", "110101 1990 0307 1234"); 3-4-4 for a phone ("138-1234-5678").
# RE2 has no look-around, so the boundary characters are captured and put back; a boundary is any non-digit
# (a letter may touch a number: "ID11010519491231002X"). 15-digit numbers are the pre-1999 ID cards.
ID_PATTERN = rf"(^|\D)(?:{_grouped(_REGION, _DATE, _SEQ)}|{_grouped(_REGION, _DATE6, _SEQ15)})(\D|$)"
PHONE_PATTERN = rf"(^|\D)(?:(?:\+|00)?86{_GAP}?)?{_MOBILE}(\D|$)"
# Columns never stored as they arrive: dropped, or kept only as a keyed hash.
PERSONAL = ("drop", "hmac")


def scrub_text(arr: pa.Array) -> pa.Array:
    """Replace ID-card and mobile numbers inside text with a marker (expects NFKC text: ASCII digits)."""
    # A match consumes its trailing boundary, so two numbers one character apart need a second pass.
    for _ in range(8):
        before = arr
        arr = pc.replace_substring_regex(arr, ID_PATTERN, rf"\1{SCRUBBED}\2")
        arr = pc.replace_substring_regex(arr, PHONE_PATTERN, rf"\1{SCRUBBED}\2")
        if arr.equals(before):
            break
    return arr


def clean_text(text: str | None) -> str | None:
    """NFKC and scrub one message (an error detail may quote a line of the file)."""
    if text is None:
        return None
    return scrub_text(nfkc(pa.array([text], pa.string()))).to_pylist()[0]


def clean_name(name: str) -> str:
    """A file name or column header as stored and shown: as it came, unless it holds a personal number, which is
    masked (the name is then kept in NFKC form, the form the scrubber reads)."""
    norm = nfkc(pa.array([name], pa.string()))
    if not holds_personal_number(norm)[0]:
        return name
    return scrub_text(norm)[0].as_py()


def holds_personal_number(arr: pa.Array) -> np.ndarray:
    """Rows whose (NFKC) text contains an ID-card or mobile number."""
    hit = pc.or_(pc.match_substring_regex(arr, ID_PATTERN), pc.match_substring_regex(arr, PHONE_PATTERN))
    return np.asarray(pc.fill_null(hit, False).to_numpy(zero_copy_only=False), bool)


def is_identifier(t: Table, name: str) -> bool:
    """Codes and ids are matched, not read: they are checked for personal numbers, never rewritten."""
    return name in t.key or name.endswith(("_id", "_code", "_key", "_by")) or name == "assessor"


def hmac_key_for(lake: Lake) -> bytes:
    """The installation's HMAC key: $HALL_HMAC_KEY, else a random key created once in the data folder."""
    env = os.environ.get("HALL_HMAC_KEY")
    if env:
        return env.encode("utf-8")
    path = lake.hmac_key_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip().encode("utf-8")


# Hex digits mapped to letters so a key can never look like an ID-card or phone number to a scanner.
_LETTERS = str.maketrans("0123456789abcdef", "ghijkmnpqrstuvwx")


def hmac_column(arr: pa.Array, key: bytes) -> pa.Array:
    """Key each (NFKC, upper-cased) value by HMAC-SHA256; nulls stay null."""
    # hmac.digest is the one-shot OpenSSL path: several times faster than new()/copy() per value.
    digest, letters = hmac.digest, _LETTERS
    out = [None if v is None else "ak" + digest(key, v.encode("utf-8"), "sha256").hex()[:30].translate(letters)
           for v in pc.utf8_upper(arr).to_pylist()]
    return pa.array(out, pa.string())


def protect(t: Table, values: dict[str, pa.Array], key: bytes) -> dict[str, pa.Array]:
    """A batch's stored columns: free text scrubbed, each hashed personal column replaced by its keyed hash."""
    stored = {}
    for c in t.stored_columns:
        if c.name not in values:
            continue
        v = values[c.name]
        # Any text a person typed may hold a phone or ID number; identifiers are checked instead.
        # (Columns with a closed set of allowed values were already checked against it.)
        typed_text = pa.types.is_string(c.type) and not c.allowed and not is_identifier(t, c.name)
        stored[c.name] = scrub_text(v) if typed_text else v
    for c in t.columns:
        if c.pii == "hmac":
            if c.hmac_to is None:
                raise ValueError(f"{t.name}.{c.name}: a hashed personal column needs hmac_to")
            stored[c.hmac_to] = hmac_column(values[c.name], key)
    return stored


def raw_json(batch: pa.Table, mask: np.ndarray, t: Table) -> list[str]:
    """The quarantined rows as JSON text: personal columns removed, every value NFKC-normalised and scrubbed."""
    keep = [c for c in batch.column_names if c in t.names and t.column(c).pii not in PERSONAL]
    sub = batch.select(keep).filter(pa.array(mask))
    if sub.num_rows == 0:
        return []
    cols = {}
    for c in keep:
        arr = sub[c].combine_chunks()
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        cols[c] = scrub_text(nfkc(arr.cast(pa.string()))).to_pylist()
    return [json.dumps({c: cols[c][i] for c in keep}, ensure_ascii=False) for i in range(sub.num_rows)]
