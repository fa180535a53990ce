"""Where the files the code reads beside itself (SQL queries, rulesets, mapping files, the server's config) are found."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
# A wheel carries queries/, rulesets/, data/mappings and .streamlit/config.toml here (pyproject's force-include);
# a checkout, editable install included, has no such folder and reads them from the repository around the package.
SHIPPED = PACKAGE / "_resources"


def root() -> Path:
    """The folder holding queries/, rulesets/ and data/mappings: the package's own copy when installed from a wheel,
    else the repository checkout the package sits in."""
    return SHIPPED if SHIPPED.is_dir() else PACKAGE.parent


ROOT = root()


def home() -> Path:
    """Where a user's own files (data/, config/roles.yaml) go by default: the checkout, or when installed from a
    wheel the current folder, never site-packages."""
    return Path.cwd() if SHIPPED.is_dir() else PACKAGE.parent
