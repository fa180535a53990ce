"""The audit log (操作日志): every write action — upload, rebuild, cache clear, refusal — with who, role and when."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from filelock import FileLock

from dashboard.core.access import Principal
from dashboard.core.db import Lake


def audit_path(lake: Lake) -> Path:
    """One JSON object per line under the lake, beside the ingest log; append-only."""
    return lake.audit / "audit.jsonl"


def record(lake: Lake, principal: Principal | None, action: str, outcome: str = "done", **detail) -> dict:
    """Append one entry (UTC time, subject, role, action, outcome, detail) and return it."""
    entry = {
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "subject": principal.subject if principal else None,
        "role": principal.role if principal else None,
        "action": action,
        "outcome": outcome,
        "detail": {k: v for k, v in detail.items() if v is not None},
    }
    path = audit_path(lake)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(entry, ensure_ascii=False, default=str) + "\n"
    # Two server threads (or the CLI beside the server) append at once: one writer at a time keeps lines whole.
    with FileLock(str(path) + ".lock", timeout=30), path.open("a", encoding="utf-8") as f:
        f.write(line)
    return entry


def entries(lake: Lake, limit: int = 500) -> list[dict]:
    """The newest entries first, at most `limit`; a line that is not JSON is reported as such, not skipped."""
    path = audit_path(lake)
    if not path.exists():
        return []
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines()[::-1][:limit]:
        try:
            out.append(json.loads(raw))
        except json.JSONDecodeError:
            out.append({"at": None, "subject": None, "role": None, "action": "unreadable line", "outcome": raw[:200],
                        "detail": {}})
    return out
