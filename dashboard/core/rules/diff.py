"""Versions of a ruleset and what changed between two of them: the YAML text as a unified diff, and the rules
added, removed or changed (by item id), with the settings outside the items that changed."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from dashboard.core.rules import model as m
from dashboard.core.rules.loader import RULESETS, RulesError, load, ruleset_files
from dashboard.core.text import pick


@dataclass(frozen=True)
class Version:
    """One version file of a ruleset: where it is, when it applies, and its fingerprint."""

    ruleset_id: str
    version: str  # the file's stem: the first period it applies to
    relpath: str  # "<id>/<version>.yaml", relative to the rulesets folder
    from_period: str
    to_period: str | None
    sha256: str
    name_zh: str
    name_en: str
    subject: str
    period: str  # month | quarter | year

    def name(self, lang: str) -> str:
        return pick(self.name_zh, self.name_en, lang)


def resolve(relpath: str, root: Path = RULESETS) -> Path:
    """The version file `relpath` names inside the rulesets folder; anything else is refused (ValueError)."""
    candidate = (root / relpath).resolve()
    if candidate not in {p.resolve() for p in ruleset_files(root)}:
        raise ValueError(f"{relpath!r} is not a version file in the rulesets folder")
    return candidate


def versions(root: Path = RULESETS) -> list[Version]:
    """Every loadable version file under the rulesets folder, by ruleset id then first period.

    A file that does not load is left out here; `hall rules check` names it with its line and column.
    """
    out = []
    for path in ruleset_files(root):
        try:
            one = load(path)
        except RulesError:
            continue
        rs = one.ruleset
        out.append(Version(rs.id, path.stem, path.relative_to(root).as_posix(), rs.effective.from_period,
                           rs.effective.to_period, one.sha256, rs.name.zh, rs.name.en, rs.subject, rs.period))
    return sorted(out, key=lambda v: (v.ruleset_id, v.from_period, v.relpath))


@dataclass(frozen=True)
class ItemChange:
    """One rule item that differs between two versions."""

    item_id: str
    change: str  # added | removed | changed
    section: str  # the section it is in (in the newer version when it is there)
    name_zh: str
    name_en: str
    fields: tuple[str, ...] = ()  # for a changed item: the keys whose values differ ("section" when it moved)

    def name(self, lang: str) -> str:
        return pick(self.name_zh, self.name_en, lang)


@dataclass(frozen=True)
class VersionDiff:
    """Two versions compared: the unified diff of their text, the items that changed and the other settings."""

    old: str
    new: str
    unified: str
    items: list[ItemChange]
    settings: list[str]  # top-level keys (model, grades, ranking…) and sections (sections.<id>) whose values differ

    @property
    def added(self) -> list[ItemChange]:
        return [c for c in self.items if c.change == "added"]

    @property
    def removed(self) -> list[ItemChange]:
        return [c for c in self.items if c.change == "removed"]

    @property
    def changed(self) -> list[ItemChange]:
        return [c for c in self.items if c.change == "changed"]


def _items(rs: m.Ruleset) -> dict[str, tuple[str, dict, m.RuleBase]]:
    return {it.id: (sec.id, it.model_dump(mode="json"), it) for sec in rs.sections for it in sec.items}


def _sections(rs: m.Ruleset) -> dict[str, dict]:
    return {sec.id: sec.model_dump(mode="json", exclude={"items"}) for sec in rs.sections}


def rule_changes(old: m.Ruleset, new: m.Ruleset) -> tuple[list[ItemChange], list[str]]:
    """Items added, removed and changed (in the newer version's order, removed ones last), and other settings."""
    a, b = _items(old), _items(new)
    out = []
    for item_id, (section, dump, it) in b.items():
        if item_id not in a:
            out.append(ItemChange(item_id, "added", section, it.name.zh, it.name.en))
            continue
        old_section, old_dump, _ = a[item_id]
        fields = sorted(k for k in dump.keys() | old_dump.keys() if dump.get(k) != old_dump.get(k))
        if old_section != section:
            fields.insert(0, "section")
        if fields:
            out.append(ItemChange(item_id, "changed", section, it.name.zh, it.name.en, tuple(fields)))
    for item_id, (section, _, it) in a.items():
        if item_id not in b:
            out.append(ItemChange(item_id, "removed", section, it.name.zh, it.name.en))
    old_dump = old.model_dump(mode="json", exclude={"sections"})
    new_dump = new.model_dump(mode="json", exclude={"sections"})
    settings = [k for k in m.Ruleset.model_fields if k != "sections" and old_dump.get(k) != new_dump.get(k)]
    sa, sb = _sections(old), _sections(new)
    settings += [f"sections.{s}" for s in [*sb, *(x for x in sa if x not in sb)] if sa.get(s) != sb.get(s)]
    return out, settings


def diff(old: Path, new: Path, root: Path = RULESETS) -> VersionDiff:
    """Compare two version files: text line by line, rules by item id. Both must load."""
    a, b = load(old), load(new)

    def label(p: Path) -> str:
        try:
            return p.relative_to(root).as_posix()
        except ValueError:
            return p.name

    text_a = old.read_text(encoding="utf-8").splitlines(keepends=True)
    text_b = new.read_text(encoding="utf-8").splitlines(keepends=True)
    unified = "".join(line if line.endswith("\n") else line + "\n"
                      for line in difflib.unified_diff(text_a, text_b, fromfile=label(old), tofile=label(new)))
    items, settings = rule_changes(a.ruleset, b.ruleset)
    return VersionDiff(label(old), label(new), unified, items, settings)
