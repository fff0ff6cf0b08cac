"""Shared test helpers: scan a small tree written to a temporary directory."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from auditor.config import Config
from auditor.scan import run_scan

REPO_ROOT = Path(__file__).resolve().parent.parent


def write_tree(root: Path, files: dict) -> None:
    """Write ``{relative path: source}`` under ``root``."""
    for rel, source in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(source).removeprefix("\n"), encoding="utf-8")


def scan_files(root: Path, files: dict, config: Config | None = None, jobs: int = 1):
    """Write ``files`` under ``root`` and scan them."""
    write_tree(root, files)
    return run_scan(root, config or Config(), jobs=jobs)


def found(result, rule: str | None = None) -> list:
    """``(rule, path, line)`` of each finding (of ``rule``), sorted."""
    return sorted((f.rule, f.path, f.line) for f in result.findings if rule is None or f.rule == rule)


@pytest.fixture
def scan(tmp_path):
    """``scan({path: source}) -> ScanResult`` on a fresh temporary tree."""
    def _scan(files: dict, config: Config | None = None, jobs: int = 1):
        return scan_files(tmp_path, files, config, jobs)
    return _scan
