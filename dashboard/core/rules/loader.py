"""Load a ruleset file: YAML 1.2 keeping positions, checked by the model; every problem as file:line:col: message."""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from dashboard import resources
from dashboard.core.metrics import months_of
from dashboard.core.rules import model as m
from dashboard.core.rules.kinds import REGISTRY
from dashboard.core.rules.vocabulary import did_you_mean
from dashboard.core.text import Message


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: where it is, and what, as a catalog message rendered in the reader's language."""

    file: str
    line: int
    col: int
    message: Message

    def render(self, lang: str = "en") -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.message.render(lang)}"

    def order(self) -> tuple[int, int, str]:
        """Where the problem is, then what (in English, so the order does not depend on the reader)."""
        return self.line, self.col, self.message.render("en")


class RulesError(ValueError):
    """A ruleset file that cannot be used; `problems` says where and why."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(p.render() for p in problems))
        self.problems = problems

    def render(self, lang: str = "en") -> str:
        return "\n".join(p.render(lang) for p in self.problems)


@dataclass(frozen=True)
class Loaded:
    """A validated ruleset with the file it came from and that file's sha256."""

    ruleset: m.Ruleset
    path: Path
    sha256: str


def _vocabulary() -> list[str]:
    """Every key any ruleset model knows, for "did you mean"."""
    names: set[str] = set()
    kind_modules = [sys.modules[k.model.__module__] for k in REGISTRY.values()]
    for obj in [*vars(m).values(), *(o for mod in kind_modules for o in vars(mod).values())]:
        if isinstance(obj, type) and issubclass(obj, BaseModel) and obj is not BaseModel:
            names |= set(obj.model_fields)
    return sorted(names)


def _plain(node):
    """ruamel's round-trip nodes as plain Python, numbers as exact Decimals (0.1 stays 0.1)."""
    if isinstance(node, CommentedMap):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, CommentedSeq):
        return [_plain(v) for v in node]
    if isinstance(node, float):
        from decimal import Decimal

        return Decimal(repr(node))
    return node


def _locate(doc, loc: tuple, err_type: str) -> tuple[int, int, object]:
    """(line, col) 1-based of an error's location, plus the mapping holding the last key reached."""
    node, line, col = doc, 1, 1
    if isinstance(doc, CommentedMap | CommentedSeq):
        line, col = doc.lc.line + 1, doc.lc.col + 1
    parent = None
    for i, part in enumerate(loc):
        final = i == len(loc) - 1
        if isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line, col = (x + 1 for x in node.lc.item(part))
            node = node[part]
        elif isinstance(node, CommentedMap) and part in node:
            # An unknown key points at the key itself; a bad value at the value.
            pos = node.lc.key(part) if (final and err_type == "extra_forbidden") else node.lc.value(part)
            line, col = pos[0] + 1, pos[1] + 1
            parent, node = node, node[part]
        # Otherwise `part` is a union tag (the rule's kind) or a key that is missing: stay on the mapping.
    if err_type == "union_tag_invalid" and isinstance(node, CommentedMap) and "kind" in node:
        line, col = (x + 1 for x in node.lc.value("kind"))
    return line, col, parent


def _message(err: ErrorDetails, parent) -> Message:
    kind, loc, ctx = err["type"], err["loc"], err.get("ctx", {})
    name = str(loc[-1]) if loc else ""
    if kind == "extra_forbidden":
        in_flow = isinstance(parent, CommentedMap) and parent.fa.flow_style()
        if err.get("input") is None and (in_flow or not name.isascii()):
            # `{note: 扣2分,每次}` in a flow mapping: the ASCII comma ended the note and began a key.
            return Message("rules.error.comma_in_flow", name=name)
        return Message("rules.error.unknown_key", name=name, hint=did_you_mean(name, _vocabulary(), cutoff=0.75))
    if kind == "missing":
        return Message("rules.error.missing_key", name=name)
    if kind == "union_tag_invalid":
        tag, expected = ctx.get("tag"), ctx.get("expected_tags", "")
        options = [t.strip().strip("'") for t in str(expected).split(",")]
        return Message("rules.error.unknown_kind", kind=tag, hint=did_you_mean(str(tag), options), kinds=tuple(options))
    if kind == "union_tag_not_found":
        return Message("rules.error.missing_key", name="kind")
    if kind in ("decimal_parsing", "decimal_type", "int_parsing", "int_type", "float_parsing", "float_type"):
        return Message("rules.error.not_a_number", name=name, value=err.get("input"))
    if kind == "literal_error":
        return Message("rules.error.not_one_of", name=name, expected=ctx.get("expected"), value=err.get("input"))
    if kind == "string_pattern_mismatch":
        return Message("rules.error.not_identifier", name=name, value=err.get("input"))
    error = ctx.get("error")
    if isinstance(error, m.RuleValueError):
        return error.message
    # pydantic's own sentence, in English only: a constraint this vocabulary has no words for yet.
    return Message("rules.error.other", text=err["msg"])


def load(path: Path) -> Loaded:
    """Read and validate one ruleset file; raises RulesError with every problem found."""
    raw = path.read_bytes()
    # Parsing YAML with positions is slow; the same bytes always give the same ruleset.
    return _load(path, raw)


@lru_cache(maxsize=256)
def _load(path: Path, raw: bytes) -> Loaded:
    where = str(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise RulesError([Problem(where, line, 1, Message("rules.error.not_utf8"))]) from e
    yaml = YAML(typ="rt")
    yaml.version = (1, 2)  # `on` stays a string and 010 stays ten
    try:
        doc = yaml.load(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        what = (e.problem or e.context or "invalid YAML").strip()
        raise RulesError([Problem(where, mark.line + 1, mark.column + 1, Message("rules.error.yaml", what=what))]) from e
    if not isinstance(doc, CommentedMap):
        raise RulesError([Problem(where, 1, 1, Message("rules.error.not_a_mapping"))])
    try:
        ruleset = m.Ruleset.model_validate(_plain(doc))
    except ValidationError as e:
        problems = []
        for err in e.errors(include_url=False):
            line, col, parent = _locate(doc, err["loc"], err["type"])
            problems.append(Problem(where, line, col, _message(err, parent)))
        raise RulesError(sorted(set(problems), key=Problem.order)) from e
    return Loaded(ruleset, path, hashlib.sha256(raw).hexdigest())


def case_problems(one: Loaded) -> list[Problem]:
    """Each embedded case that does not come out as the document says, at the case's line in the file."""
    from dashboard.core.rules.cases import score_case

    text = one.path.read_text(encoding="utf-8").splitlines()
    out = []
    for case in one.ruleset.cases:
        try:
            result = score_case(one.ruleset, case)
            en, zh = result.render("en"), result.render("zh")
        except Exception as e:  # noqa: BLE001 - a case that cannot run is a problem of the file, reported as such
            en = zh = [f"{type(e).__name__}: {e}"]
        if not en:
            continue
        line = next((i for i, row in enumerate(text, 1) if row.strip().lstrip("- ").startswith("name:")
                     and case.name in row), 1)
        col = text[line - 1].find("name:") + 1 if text else 1
        # The case's own findings come in both languages already (cases.py); the file names the case around them.
        out += [Problem(str(one.path), line, col, Message("rules.error.case", name=case.name, problem=m.Text(zh=b, en=a)))
                for a, b in zip(en, zh, strict=True)]
    return out


RULESETS = resources.ROOT / "rulesets"


def ruleset_files(root: Path = RULESETS) -> list[Path]:
    """Every version file: rulesets/<id>/<first period>.yaml."""
    return sorted(root.glob("*/*.yaml"))


def check(paths: list[Path]) -> tuple[list[Loaded], list[Problem]]:
    """Load every file; also check that a file sits where its id and period say, and that versions do not overlap."""
    loaded, problems = [], []
    for path in paths:
        try:
            one = load(path)
        except RulesError as e:
            problems += e.problems
            continue
        rs = one.ruleset
        if path.parent.name != rs.id or path.stem != rs.effective.from_period:
            problems.append(Problem(str(path), 1, 1, Message("rules.error.misplaced", id=rs.id,
                                                             start=rs.effective.from_period)))
        loaded.append(one)
    by_id: dict[str, list[Loaded]] = {}
    for one in loaded:
        by_id.setdefault(one.ruleset.id, []).append(one)
    for versions in by_id.values():
        versions.sort(key=lambda v: months_of(v.ruleset.effective.from_period)[0])
        for earlier, later in zip(versions, versions[1:], strict=False):
            end = earlier.ruleset.effective.to_period
            start = months_of(later.ruleset.effective.from_period)[0]
            if end is None or months_of(end)[-1] >= start:
                problems.append(Problem(str(later.path), 1, 1, Message(
                    "rules.error.overlap", later=later.path.stem, earlier=earlier.path.stem,
                    end=end or Message("rules.error.no_end"), file=earlier.path.name, start=start)))
    return loaded, problems


def find(ruleset_id: str, period: str | None = None, root: Path = RULESETS) -> Loaded:
    """The version of a ruleset in force for a period (the newest version when no period is given)."""
    files = sorted((root / ruleset_id).glob("*.yaml")) if (root / ruleset_id).is_dir() else []
    if not files:
        known = sorted(p.name for p in root.iterdir() if p.is_dir())
        raise RulesError([Problem(str(root), 1, 1, Message("rules.error.no_ruleset", id=ruleset_id,
                                                           hint=did_you_mean(ruleset_id, known), known=tuple(known)))])
    versions = [load(p) for p in files]
    if period is None:
        return versions[-1]
    month = months_of(period)[0]
    for v in reversed(versions):
        eff = v.ruleset.effective
        if months_of(eff.from_period)[0] <= month and (eff.to_period is None or month <= months_of(eff.to_period)[-1]):
            return v
    raise RulesError([Problem(str(root / ruleset_id), 1, 1,
                              Message("rules.error.no_version", id=ruleset_id, period=period))])
