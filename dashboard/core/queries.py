"""The SQL files under queries/ and what each one's header declares: kind, keys, sort order, labels and inputs."""

# A header is the end of the file's leading comment block, after the prose whose first line states the grain
# (house style), one field a line:
#
#   -- grain: one row per unit × month …          (prose: the file's first comment)
#   -- @kind mart                                  fact | stage | mart | check | audit, by folder
#   -- @keys period, unit_code                     the columns that name one row
#   -- @order period, unit_code                    how the written file is sorted (none: as computed)
#   -- @attributes unit_name, unit_kind            descriptive columns, one value per key (marts)
#   -- @subject unit                               a scored subject: key is the last key, name the first attribute
#   -- @label.zh 单位月度汇总                       what the file is called, in both languages
#   -- @label.en Unit × month
#   -- @depends measures, handling_quantiles, units   what the SQL reads: queries, warehouse tables, calendar
#   -- @params as_of                               the named parameters ($name) the SQL takes
#   -- @each mart                                  an audit run once per mart, on `@this` with its `@keys`
#
# The file's name is the query's name. Parsing is strict: an unknown, repeated, missing or misplaced field, or a
# value that does not fit, fails with `file:line: message`.

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass, field
from pathlib import Path

from dashboard.core.contract import TABLES
from dashboard.core.db import REPO_ROOT

QUERIES = REPO_ROOT / "queries"
# Folder → the one kind its files are; facts/ holds facts proper (kept while their inputs are unchanged) and
# stages (recomputed every build with the build's options).
FOLDERS = {"facts": ("fact", "stage"), "": ("mart",), "checks": ("check",), "audits": ("audit",)}
# The kinds the build runs as steps, in the order their ranks allow: each may read only ranks at or before its own.
STEP_KINDS = ("fact", "stage", "mart")
# Relations a query may read besides queries and warehouse tables: the working-day calendar, the indicator
# catalog's columns (registered by the build for audits) and, in a per-mart audit, the mart itself; each with the
# query kinds that may read it (None: any kind).
PROVIDED: dict[str, tuple[str, ...] | None] = {"calendar": None, "indicator_columns": ("audit",), "this": ("audit",)}
REQUIRED = {
    "fact": {"kind", "keys", "label.zh", "label.en", "depends"},
    "stage": {"kind", "keys", "label.zh", "label.en", "depends"},
    "mart": {"kind", "keys", "order", "label.zh", "label.en", "depends"},
    "check": {"kind", "label.zh", "label.en", "depends"},
    "audit": {"kind", "label.zh", "label.en", "depends"},
}
OPTIONAL = {
    "fact": {"order", "params"},
    "stage": {"order", "params"},
    "mart": {"attributes", "subject", "params"},
    "check": {"params"},
    "audit": {"each"},
}
FIELDS = set().union(*REQUIRED.values(), *OPTIONAL.values())
LISTS = {"keys", "order", "attributes", "depends", "params"}
NAME = re.compile(r"[a-z_][a-z0-9_]*")
FIELD_LINE = re.compile(r"--\s*@(?P<field>\S*)(?:[ \t]+(?P<value>.*?))?\s*")
MACROS = {"this", "keys"}


class QueryError(ValueError):
    """A query file whose header is missing, unknown or inconsistent; the message starts with `file:line:`."""


@dataclass(frozen=True)
class Query:
    """One SQL file and its header."""

    name: str
    path: Path
    kind: str
    label: dict[str, str]
    depends: tuple[str, ...]
    keys: tuple[str, ...] = ()
    order: tuple[str, ...] = ()
    attributes: tuple[str, ...] = ()
    subject: str | None = None
    params: tuple[str, ...] = ()
    each: str | None = None
    text: str = ""
    lines: dict[str, int] = field(default_factory=dict)

    @property
    def file(self) -> str:
        """The file's path as messages show it (from the repository's root)."""
        return _shown(self.path)

    def where(self, name: str | None = None) -> str:
        """`file:line` of a header field (the file's first line without one), for messages."""
        return f"{self.file}:{self.lines.get(name, 1) if name else 1}"

    def sql(self, this: str | None = None, keys: tuple[str, ...] = ()) -> str:
        """The SQL to run; a per-mart audit gets `@this` and `@keys` filled in for one mart."""
        if self.each is None:
            return self.text
        return re.sub(r"@(this|keys)\b", lambda m: (this or "") if m.group(1) == "this" else ", ".join(keys), self.text)


def _shown(path: Path) -> str:
    try:
        return path.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


def parse(path: Path, folder: str) -> Query:
    """One file's header, checked on its own (the names it reads are checked by `load`)."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    where = _shown(path)
    if not NAME.fullmatch(path.stem):
        raise QueryError(f"{where}:1: {path.stem!r} cannot name a query (lower-case letters, digits, _)")
    if not lines or not lines[0].startswith("-- grain: "):
        raise QueryError(f"{where}:1: the first comment states the grain (-- grain: one row per …)")
    head = 0
    while head < len(lines) and lines[head].startswith("--"):
        head += 1
    values: dict[str, str] = {}
    at: dict[str, int] = {}
    for i, line in enumerate(lines, start=1):
        m = FIELD_LINE.fullmatch(line)
        if m is None:
            if values and i <= head:
                raise QueryError(f"{where}:{i}: prose after the header fields; the fields close the leading comment")
            continue
        name, value = m.group("field"), m.group("value") or ""
        if i > head:
            raise QueryError(f"{where}:{i}: header field @{name} outside the file's leading comment block")
        if name not in FIELDS:
            raise QueryError(f"{where}:{i}: unknown header field @{name} (known: {', '.join(sorted(FIELDS))})")
        if name in values:
            raise QueryError(f"{where}:{i}: @{name} given twice (first on line {at[name]})")
        if not value:
            raise QueryError(f"{where}:{i}: @{name} has no value")
        values[name], at[name] = value, i
    first = min(at.values(), default=max(head, 1))
    kind = values.get("kind")
    if kind is None:
        raise QueryError(f"{where}:{first}: missing header field @kind")
    if kind not in FOLDERS[folder]:
        shown = f"queries/{folder}/" if folder else "queries/"
        raise QueryError(f"{where}:{at['kind']}: @kind {kind}: a file directly under {shown} is "
                         f"{' or '.join(FOLDERS[folder])}")
    for name in sorted(REQUIRED[kind] - values.keys()):
        raise QueryError(f"{where}:{first}: missing header field @{name} (a {kind} needs "
                         f"{', '.join('@' + f for f in sorted(REQUIRED[kind]))})")
    for name in sorted(values.keys() - REQUIRED[kind] - OPTIONAL[kind]):
        raise QueryError(f"{where}:{at[name]}: @{name} does not apply to a {kind}")
    lists = {}
    for name in sorted(LISTS & values.keys()):
        items = tuple(v.strip() for v in values[name].split(","))
        bad = [v for v in items if not NAME.fullmatch(v)]
        if bad:
            raise QueryError(f"{where}:{at[name]}: @{name}: {bad[0]!r} is not a column or table name "
                             "(comma-separated lower-case names)")
        twice = sorted({v for v in items if items.count(v) > 1})
        if twice:
            raise QueryError(f"{where}:{at[name]}: @{name} names {twice[0]} twice")
        lists[name] = items
    if "subject" in values and not NAME.fullmatch(values["subject"]):
        raise QueryError(f"{where}:{at['subject']}: @subject {values['subject']!r} is not a name")
    if "subject" in values and not lists.get("attributes"):
        raise QueryError(f"{where}:{at['subject']}: a scored @subject needs @attributes (the first is its name)")
    if values.get("each", "mart") != "mart":
        raise QueryError(f"{where}:{at['each']}: @each {values['each']!r}: an audit runs once per mart or once")
    query = Query(name=path.stem, path=path, kind=kind, label={"zh": values["label.zh"], "en": values["label.en"]},
                  subject=values.get("subject"), each=values.get("each"), text=text, lines=at, **lists)
    _check_body(query, lines, head)
    return query


def _check_body(query: Query, lines: list[str], head: int) -> None:
    """The parameters the SQL takes are the ones declared, and macros appear only where they are filled in."""
    used: dict[str, int] = {}
    for i, line in enumerate(lines[head:], start=head + 1):
        code = line.split("--", 1)[0]
        for m in re.finditer(r"\$([a-z_][a-z0-9_]*)", code):
            used.setdefault(m.group(1), i)
        for m in re.finditer(r"@([A-Za-z_]\w*)", code):
            if query.each is None or m.group(1) not in MACROS:
                allowed = "only @this and @keys, in an audit with @each mart" if query.each is None else (
                    "@this or @keys")
                raise QueryError(f"{_shown(query.path)}:{i}: @{m.group(1)} in the SQL: {allowed}")
    for name, at in used.items():
        if name not in query.params:
            raise QueryError(f"{_shown(query.path)}:{at}: ${name} is not declared in @params")
    for name in query.params:
        if name not in used:
            raise QueryError(f"{query.where('params')}: @params {name}: the SQL never uses ${name}")


def _readable_by(provided: str, kind: str) -> bool:
    """Whether a query of `kind` may read the provided relation."""
    readers = PROVIDED[provided]
    return readers is None or kind in readers


def load(root: Path = QUERIES) -> dict[str, Query]:
    """Every query file under `root` by name, headers checked against each other: names unique, inputs known,
    no step reading a later kind's output, no cycle."""
    found: dict[str, Query] = {}
    for folder in FOLDERS:
        for path in sorted((root / folder).glob("*.sql")):
            q = parse(path, folder)
            if q.name in found:
                raise QueryError(f"{q.where()}: {q.name} is also {_shown(found[q.name].path)}")
            if q.name in TABLES or q.name in PROVIDED:
                raise QueryError(f"{q.where()}: {q.name} is the name of a warehouse table or a provided relation")
            found[q.name] = q
    subjects: dict[str, str] = {}
    for q in found.values():
        for dep in q.depends:
            if dep in found and found[dep].kind in STEP_KINDS:
                if q.kind in STEP_KINDS and STEP_KINDS.index(found[dep].kind) > STEP_KINDS.index(q.kind):
                    raise QueryError(f"{q.where('depends')}: @depends {dep}: a {q.kind} cannot read a "
                                     f"{found[dep].kind}, which is built after it")
            elif dep in TABLES or (dep in PROVIDED and _readable_by(dep, q.kind)):
                if dep == "this" and q.each is None:
                    raise QueryError(f"{q.where('depends')}: @depends this: only an audit with @each mart has one")
            else:
                raise QueryError(f"{q.where('depends')}: @depends {dep}: not a fact, stage or mart, a warehouse "
                                 "table, calendar, or (in an audit) indicator_columns or this")
        if q.subject is not None:
            if q.subject in subjects:
                raise QueryError(f"{q.where('subject')}: @subject {q.subject} is also {subjects[q.subject]}")
            subjects[q.subject] = q.name
    steps(found)  # a cycle fails here, at load
    return found


def steps(found: dict[str, Query]) -> list[str]:
    """The build's steps in an order where each comes after what it reads: facts, stages, then marts, by name
    among those ready at once."""
    todo = {n: {d for d in q.depends if d in found} for n, q in found.items() if q.kind in STEP_KINDS}
    rank = {n: (STEP_KINDS.index(found[n].kind), n) for n in todo}
    ready = [rank[n] for n, deps in todo.items() if not deps]
    heapq.heapify(ready)
    out: list[str] = []
    while ready:
        _, name = heapq.heappop(ready)
        out.append(name)
        for n, deps in todo.items():
            if name in deps:
                deps.discard(name)
                if not deps:
                    heapq.heappush(ready, rank[n])
    stuck = sorted(set(todo) - set(out))
    if stuck:
        q = found[stuck[0]]
        raise QueryError(f"{q.where('depends')}: @depends forms a cycle among {', '.join(stuck)}")
    return out
