"""The built wheel installs into a clean virtualenv and finds its rule catalog and templates."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO_ROOT

ANALYTICS = REPO_ROOT / "sample_projects" / "analytics_flask"


def run(args, cwd, env, timeout=600):
    proc = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode in (0, 1), f"{args}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_wheel_installs_and_runs_from_anywhere(tmp_path):
    # Nothing of the checkout may leak into the installed tool's environment.
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    dist = tmp_path / "dist"
    build = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(REPO_ROOT)],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stdout + build.stderr
    wheels = sorted(dist.glob("audit-0.1.0-*.whl"))
    assert len(wheels) == 1, sorted(p.name for p in dist.iterdir())

    target = tmp_path / "venv"
    made = subprocess.run([sys.executable, "-m", "venv", str(target)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert made.returncode == 0, made.stdout + made.stderr
    assert "include-system-site-packages = false" in (target / "pyvenv.cfg").read_text(encoding="utf-8")
    bindir = target / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / "python"
    install = subprocess.run([python, "-m", "pip", "install", "--quiet", str(wheels[0])], cwd=tmp_path,
                             env=env, capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stdout + install.stderr

    workdir = tmp_path / "elsewhere"  # not the checkout: only the installed package can be found
    workdir.mkdir()
    audit = bindir / "audit"

    where = run([python, "-c", "import auditor, auditor.resources as r; print(auditor.__file__);"
                               "print(r.rules_dir()); print(r.reports_dir())"], workdir, env)
    module, rules_dir, reports_dir = where.stdout.splitlines()
    assert module.startswith(str(target)), module
    assert rules_dir.startswith(str(target)) and rules_dir.endswith("auditor/_data/rules"), rules_dir
    assert reports_dir.startswith(str(target)) and reports_dir.endswith("auditor/_data/reports"), reports_dir

    assert run([audit, "--version"], workdir, env).stdout == "audit 0.1.0\n"

    rules = run([audit, "rules"], workdir, env).stdout.splitlines()
    assert rules[0] == "DB101  high     Database query inside a loop"
    assert [line.split()[0] for line in rules] == ["DB101", "DB102", "DB103", "DB104", "DB105",
                                                   "DB201", "DB202", "DB203"]

    explain = run([audit, "explain", "DB202"], workdir, env).stdout
    assert explain.startswith("DB202 connection-not-closed: ")
    assert "Why is this bad?" in explain
    assert "https://" in explain

    report = run([audit, "scan", ANALYTICS, "--format", "markdown"], workdir, env)
    assert report.returncode == 1  # critical findings at the default threshold
    assert "## Executive summary" in report.stdout
    assert "| Findings | 13 (7 critical, 6 high) |" in report.stdout
    assert "#### DB101 Database query inside a loop: `app/repositories/accounts.py:44`" in report.stdout
    assert "## Roadmap" in report.stdout

    module_run = run([python, "-m", "auditor", "--version"], workdir, env)
    assert module_run.stdout == "audit 0.1.0\n"
