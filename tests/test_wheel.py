"""The wheel as a user installs it: built from this checkout, installed (not editable) into a fresh venv, and run from
another folder, where no repository is around the package to find queries, rulesets and mapping files in.

Takes about 2–2.5 minutes here on 2 busy cores: wheel build and venv ~10 s (from uv's cache), `hall demo` ~20 s,
`hall ingest` ~40 s, `hall build` ~15 s, `hall score` ~5 s, `hall serve` up ~10 s."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from helpers.serving import free_port

from dashboard.core.db import REPO_ROOT

pytestmark = pytest.mark.slow
# uv as `make setup` finds it: on the PATH, else the module of the python3 that installed it.
UV = [shutil.which("uv")] if shutil.which("uv") else ["python3", "-m", "uv"]


def _uv(*args: str, cwd: Path, env: dict | None = None) -> None:
    """uv from its cache when it can (no network needed), else from the registry."""
    for offline in (["--offline"], []):
        done = subprocess.run([*UV, *args, *offline], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=600)
        if done.returncode == 0:
            return
    raise AssertionError(f"uv {' '.join(args)} failed:\n{done.stderr}")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv holding the locked runtime dependencies (no dev group) and the wheel, installed without deps."""
    base = tmp_path_factory.mktemp("wheel")
    _uv("build", "--wheel", "-o", str(base / "dist"), cwd=REPO_ROOT)
    venv = base / "venv"
    _uv("sync", "--locked", "--no-dev", "--no-install-project", "--python", sys.executable, cwd=REPO_ROOT,
        env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)})
    [wheel] = (base / "dist").glob("*.whl")
    _uv("pip", "install", "--no-deps", "--python", str(venv / "bin" / "python"), str(wheel), cwd=base)
    return wheel


def _env() -> dict[str, str]:
    # Nothing may lead the installed package back to this checkout, nor name a data folder: it is the caller's.
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "HALL_ROLES", "HALL_DATA")}


def test_the_wheel_carries_the_files_the_code_reads_and_no_secrets(installed):
    names = set(zipfile.ZipFile(installed).namelist())
    shipped = "dashboard/_resources/"
    expected = {shipped + p.relative_to(REPO_ROOT).as_posix()
                for folder in ("queries", "rulesets", "data/mappings") for p in (REPO_ROOT / folder).rglob("*")
                if p.is_file()}
    assert expected and expected <= names
    assert shipped + ".streamlit/config.toml" in names
    assert not any("secrets" in n or "__pycache__" in n for n in names)


def test_demo_ingest_build_score_and_serve_from_another_folder(installed, tmp_path):
    venv_bin = installed.parent.parent / "venv" / "bin"
    work = tmp_path / "elsewhere"
    lake = work / "data"  # an installed copy keeps its data in the folder it runs from
    work.mkdir()
    env = _env()

    def hall(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([str(venv_bin / "hall"), *args], cwd=work, env=env, capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
        return done

    where = subprocess.run([str(venv_bin / "python"), "-c", "from dashboard import resources; print(resources.ROOT)"],
                           cwd=work, env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where) == venv_bin.parent / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" \
        / "site-packages" / "dashboard" / "_resources"

    demo = json.loads(hall("demo", "--cases", "2400", "--json").stdout)
    exports = lake / "demo" / "exports"
    assert Path(demo["out_dir"]) == exports and demo["files"] > 0
    ingested = json.loads(hall("ingest", str(exports), "--json").stdout)
    assert ingested["rows_accepted"] > 0
    hall("build")
    assert (lake / "lake" / "marts" / "unit_month.parquet").exists()
    month = demo["months"][-1]
    scores = json.loads(hall("score", "--ruleset", "hall_efficiency", "--period", month, "--json").stdout)
    # Every unit of the demo's units export (read with pyarrow, not through the package) gets a total that month.
    units = set(pq.read_table(exports / "units.parquet", columns=["unit_code"])["unit_code"].to_pylist())
    assert len(units) == 40
    assert {r["subject"] for r in scores} == units
    assert all(r["total"] is not None and r["lines"] for r in scores)

    # `hall serve` finds the app inside the package and comes up on loopback (a missing app.py exits at once).
    port = free_port()
    proc = subprocess.Popen([str(venv_bin / "hall"), "serve", "--port", str(port)], cwd=work, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline, up = time.monotonic() + 60, False
        while not up and time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    up = r.status == 200
            except OSError:
                time.sleep(0.5)
        assert up, proc.stderr.read().decode() if proc.poll() is not None else "no answer within 60 s"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
