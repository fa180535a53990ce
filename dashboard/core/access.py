"""Who may see and do what (权限): the four roles, the units each user may see, and the roles file that assigns them."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import MarkedYAMLError

from dashboard.core.rules.loader import Problem, _locate, _plain
from dashboard.core.rules.model import RuleValueError
from dashboard.core.text import Message
from dashboard.resources import home

Role = Literal["leadership", "unit_head", "office", "auditor"]
ROLES: tuple[Role, ...] = ("leadership", "unit_head", "office", "auditor")

# What each role may do beyond reading its scope. Only the hall office writes; the auditor reads the gate's logs
# and the audit log but changes nothing (审计只读).
Action = Literal["upload", "rebuild", "clear_cache", "record_events", "publish", "edit_rules", "view_operations"]
_ALLOWED: dict[Role, frozenset[str]] = {
    "leadership": frozenset(),
    "unit_head": frozenset(),
    "office": frozenset({"upload", "rebuild", "clear_cache", "record_events", "publish", "edit_rules",
                         "view_operations"}),
    "auditor": frozenset({"view_operations"}),
}
WRITE_ACTIONS = frozenset({"upload", "rebuild", "clear_cache", "record_events", "publish", "edit_rules"})

_UNIT_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


@dataclass(frozen=True)
class Principal:
    """A signed-in user as the dashboard sees them: who (for the audit log), their role and, for a unit head, units."""

    subject: str
    role: Role
    units: tuple[str, ...] = ()
    name: str = ""

    @property
    def scope(self) -> tuple[str, ...] | None:
        """The unit codes this user may see; None means every unit (leadership, office, auditor)."""
        return tuple(sorted(set(self.units))) if self.role == "unit_head" else None

    def can(self, action: Action) -> bool:
        """Whether the role may take this action (upload, rebuild, …); reading within the scope needs no action."""
        return action in _ALLOWED[self.role]


class AccessDenied(PermissionError):
    """An action the user's role does not allow; raised below the pages, so a crafted request is refused too."""

    def __init__(self, principal: Principal | None, action: str):
        who = "nobody signed in" if principal is None else f"{principal.subject} ({principal.role})"
        super().__init__(f"{who} may not {action}")
        self.principal, self.action = principal, action


def require(principal: Principal | None, action: Action) -> Principal:
    """The principal, if their role allows the action; otherwise AccessDenied."""
    if principal is None or not principal.can(action):
        raise AccessDenied(principal, action)
    return principal


def narrow(allowed: tuple[str, ...] | None, requested: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """The units a call may read: what was asked for, never more than the user may see (None = every unit)."""
    if allowed is None:
        return None if requested is None else tuple(sorted(set(requested)))
    if requested is None:
        return tuple(sorted(set(allowed)))
    return tuple(sorted(set(allowed) & set(requested)))


# --- the roles file ---------------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Match(_Strict):
    """Which identities an entry covers: one claim from the identity provider's ID token."""

    sub: str | None = Field(None, min_length=1)
    email: str | None = Field(None, min_length=3)
    group: str | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _exactly_one(self) -> Match:
        given = [k for k in ("sub", "email", "group") if getattr(self, k) is not None]
        if len(given) != 1:
            raise RuleValueError("access.error.match_one")
        return self

    def covers(self, claims: Mapping) -> bool:
        if self.sub is not None:
            return str(claims.get("sub") or "") == self.sub
        if self.email is not None:
            # Providers differ in the case they return; an address is one mailbox whatever its case.
            return str(claims.get("email") or "").strip().lower() == self.email.strip().lower()
        groups = claims.get("groups") or []
        if isinstance(groups, str):
            groups = [groups]
        return self.group in {str(g) for g in groups}


class Grant(_Strict):
    """One line of the roles file: who, their role and, for a unit head, the unit codes they answer for."""

    match: Match
    role: Role
    units: list[str] | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _units_for_unit_heads(self) -> Grant:
        if self.role == "unit_head":
            if not self.units:
                raise RuleValueError("access.error.unit_head_needs_units")
            bad = [u for u in self.units if not _UNIT_CODE.match(u)]
            if bad:
                raise RuleValueError("access.error.not_unit_codes", codes=tuple(map(repr, bad)))
        elif self.units is not None:
            raise RuleValueError("access.error.units_only_for_unit_head", role=self.role)
        return self


class RolesFile(_Strict):
    """The roles file (角色与授权): grants in order; the first that matches a signed-in user decides."""

    grants: list[Grant]

    def principal(self, claims: Mapping) -> Principal | None:
        """The principal for an ID token's claims, or None when no grant covers them (signed in, no access)."""
        for grant in self.grants:
            if grant.match.covers(claims):
                subject = str(claims.get("email") or claims.get("sub") or "?")
                name = str(claims.get("name") or subject)
                return Principal(subject, grant.role, tuple(grant.units or ()), name)
        return None


class RolesFileError(ValueError):
    """A roles file that cannot be used; every problem as file:line:col: message."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(p.render() for p in problems))
        self.problems = problems


def roles_path() -> Path:
    """The roles file named by $HALL_ROLES, else `config/roles.yaml` in the repository (installed: this folder)."""
    return Path(os.environ.get("HALL_ROLES", home() / "config" / "roles.yaml")).resolve()


def load_roles(path: Path) -> RolesFile:
    """Read and validate a roles file; RolesFileError names the line and column of every problem."""
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise RolesFileError([Problem(where, 1, 1, Message("rules.error.not_utf8"))]) from e
    yaml = YAML(typ="rt")
    yaml.version = (1, 2)
    try:
        doc = yaml.load(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        what = (e.problem or e.context or "invalid YAML").strip()
        raise RolesFileError([Problem(where, mark.line + 1, mark.column + 1,
                                      Message("rules.error.yaml", what=what))]) from e
    if not isinstance(doc, CommentedMap):
        raise RolesFileError([Problem(where, 1, 1, Message("access.error.not_a_mapping"))])
    try:
        return RolesFile.model_validate(_plain(doc))
    except ValidationError as e:
        problems = []
        for err in e.errors(include_url=False):
            line, col, _ = _locate(doc, err["loc"], err["type"])
            name = str(err["loc"][-1]) if err["loc"] else ""
            error = err.get("ctx", {}).get("error")
            if err["type"] == "extra_forbidden":
                message = Message("rules.error.unknown_key", name=name, hint="")
            elif err["type"] == "missing":
                message = Message("rules.error.missing_key", name=name)
            elif err["type"] == "literal_error":
                message = Message("access.error.not_a_role", name=name, roles=ROLES, value=err.get("input"))
            elif isinstance(error, RuleValueError):
                message = error.message
            else:
                message = Message("rules.error.other", text=str(err["msg"]))
            problems.append(Problem(where, line, col, message))
        raise RolesFileError(sorted(set(problems), key=Problem.order)) from e


# --- is sign-in configured ----------------------------------------------------------------------------------------

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def secrets_files(explicit: Path | None = None) -> list[Path]:
    """Where the server reads secrets.toml when `hall serve` starts it: the given file, else the user's and the
    checkout's (installed from a wheel: the folder `hall` runs from), as `hall serve` hands them to Streamlit."""
    if explicit is not None:
        return [explicit]
    return [Path.home() / ".streamlit" / "secrets.toml", home() / ".streamlit" / "secrets.toml"]


def _provider_ready(section: Mapping) -> bool:
    return all(section.get(k) for k in ("client_id", "client_secret", "server_metadata_url"))


def sign_in_configured(files: list[Path]) -> bool:
    """True when a secrets file holds an [auth] section st.login() can sign in with: redirect_uri, cookie_secret and
    the default provider (an [auth.default] table, else [auth]'s own client_id, client_secret, server_metadata_url;
    the app calls st.login() without a name, so an [auth.<other name>] table alone cannot sign anyone in)."""
    for path in files:
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            continue
        if auth_section_ready(doc.get("auth")):
            return True
    return False


def auth_section_ready(section: object) -> bool:
    """Whether one [auth] section (as parsed, or Streamlit's st.secrets["auth"]) lets st.login() sign anyone in."""
    if not isinstance(section, Mapping) or not (section.get("redirect_uri") and section.get("cookie_secret")):
        return False
    default = section.get("default")
    return _provider_ready(default if isinstance(default, Mapping) else section)
