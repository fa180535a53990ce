"""A ruleset's embedded cases, each run and summarised for the rules page: name, note, expected totals, verdict."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from dashboard.core.rules import model as m
from dashboard.core.rules.cases import score_case
from dashboard.core.text import Message


@dataclass(frozen=True)
class CaseSummary:
    """One case: what the document says (expected totals by subject; "case" for a single subject) and the verdict."""

    name: str
    note: str | None
    expected: dict[str, Decimal]
    passed: bool
    problems: tuple[Message, ...]

    def render(self, lang: str) -> tuple[str, ...]:
        """The problems in the reader's language."""
        return tuple(p.render(lang) for p in self.problems)


def summarize(rs: m.Ruleset) -> list[CaseSummary]:
    """Every case of the ruleset run through the compiled SQL, in the file's order."""
    out = []
    for case in rs.cases:
        if case.expect is not None:
            expected = {"case": case.expect.total}
        else:
            expected = {s: e.total for s, e in (case.expect_by_subject or {}).items()}
        try:
            problems = tuple(score_case(rs, case).problems)
        except Exception as e:  # noqa: BLE001 - a case that cannot run fails, with the reason shown
            problems = (Message("rules.case.failed", error=type(e).__name__, detail=str(e)),)
        out.append(CaseSummary(case.name, case.note, expected, not problems, problems))
    return out
