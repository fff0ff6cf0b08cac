"""End to end, as CI runs it: a baseline on main, a branch that wraps an unchanged query in a new loop,
``audit scan --baseline .audit-baseline.json --diff main --fail-on high`` in a subprocess."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import REPO_ROOT, write_tree
from tests.test_diff_mode import commit_all, git, worktrees
from tests.test_render_sarif import schema, validate  # noqa: F401  (schema is a fixture)

APP = {
    "shop/__init__.py": "",
    "shop/db.py": """\
        import os

        from psycopg2.pool import ThreadedConnectionPool

        POOL = ThreadedConnectionPool(1, 10, os.environ["DATABASE_URL"])


        def fetch_customer(customer_id):
            conn = POOL.getconn()
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT id, name, email FROM customers WHERE id = %s", (customer_id,))
                    return cur.fetchone()
            finally:
                POOL.putconn(conn)


        def fetch_orders(customer_id):
            conn = POOL.getconn()
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT id, total FROM orders WHERE customer_id = %s", (customer_id,))
                    return cur.fetchall()
            finally:
                POOL.putconn(conn)
        """,
    "shop/views.py": """\
        from flask import Flask, jsonify, request

        from shop.db import fetch_customer, fetch_orders

        app = Flask(__name__)


        @app.route("/customers/<int:customer_id>")
        def customer(customer_id):
            return jsonify(fetch_customer(customer_id))


        @app.route("/customers/orders")
        def customers_orders():
            ids = request.args.getlist("id", type=int)
            return jsonify({customer_id: fetch_orders(customer_id) for customer_id in ids})
        """,
}

# The branch's change: fetch_customer (its query unchanged) called in a new loop, in a new handler
# inserted above the old N+1, so that the old one moves down by eight lines.
NEW_HANDLER = '''

@app.route("/customers/batch")
def customers_batch():
    found = []
    for customer_id in request.args.getlist("id", type=int):
        found.append(fetch_customer(customer_id))
    return jsonify(found)
'''


def audit_command() -> list:
    """The installed console script next to this interpreter (``.venv/bin/audit``), else ``-m auditor``."""
    script = Path(sys.executable).parent / "audit"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "auditor"]


def audit(repo: Path, *args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    return subprocess.run([*audit_command(), *args], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=300)


def new_repository(tmp_path: Path) -> Path:
    """The shop service committed on ``main`` in a fresh repository."""
    repo = tmp_path / "shop-service"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    write_tree(repo, APP)
    commit_all(repo, "shop service")
    return repo


def add_batch_endpoint(repo: Path) -> None:
    """On a new branch, commit the batch endpoint (a new loop around the unchanged fetch_customer)."""
    git(repo, "checkout", "-q", "-b", "batch-endpoint")
    views = (repo / "shop" / "views.py").read_text(encoding="utf-8")
    marker = '\n\n@app.route("/customers/orders")'
    (repo / "shop" / "views.py").write_text(views.replace(marker, NEW_HANDLER + marker), encoding="utf-8")
    commit_all(repo, "batch endpoint")


def sarif_locations(log: dict) -> list:
    return [(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
             r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in log["runs"][0]["results"]]


def test_pull_request_gate_reports_only_the_new_n_plus_one(tmp_path, schema):  # noqa: F811
    repo = new_repository(tmp_path)

    created = audit(repo, "baseline", "create")
    assert (created.returncode, created.stdout, created.stderr) == (0, "", "wrote .audit-baseline.json (1 finding)\n")
    baseline = json.loads((repo / ".audit-baseline.json").read_text(encoding="utf-8"))
    assert [(e["rule"], e["path"], e["line"]) for e in baseline["findings"]] == [("DB101", "shop/views.py", 16)]
    commit_all(repo, "accept the current findings")

    add_batch_endpoint(repo)

    # Without the gate both N+1s are reported (the old one moved from line 16 to 24).
    plain = audit(repo, "scan", "--format", "json")
    assert sorted((f["rule"], f["path"], f["line"]) for f in json.loads(plain.stdout)["findings"]) == [
        ("DB101", "shop/views.py", 17), ("DB101", "shop/views.py", 24)]

    gated = audit(repo, "scan", "--baseline", ".audit-baseline.json", "--diff", "main", "--fail-on", "high",
                  "--format", "json")
    assert gated.returncode == 1, gated.stderr
    document = json.loads(gated.stdout)
    assert [(f["rule"], f["path"], f["line"], f["function"]) for f in document["findings"]] == [
        ("DB101", "shop/views.py", 17, "shop.views.customers_batch")]
    assert (document["findings"][0]["severity"], document["findings"][0]["priority"]) == ("critical", "P0")
    main = git(repo, "rev-parse", "main").strip()
    assert document["summary"]["baseline"] == {"entries": 1, "matched": 1, "fixed": 0}
    assert document["summary"]["diff"] == {"ref": "main", "commit": main, "base_findings": 1, "matched": 0}
    assert gated.stderr == (
        "baseline .audit-baseline.json: 1 of 1 baseline findings still present (not reported), 0 fixed\n"
        f"diff against main ({main[:12]}): 1 findings there, 0 of them still present (not reported)\n"
        "1 new finding\n")
    assert worktrees(repo) == [f"worktree {repo.resolve()}"]

    # The same gate writing SARIF for code scanning: valid against the official SARIF 2.1.0 schema.
    sarif_gate = audit(repo, "scan", "--baseline", ".audit-baseline.json", "--diff", "main", "--fail-on", "high",
                       "--format", "sarif", "-o", "audit.sarif")
    assert sarif_gate.returncode == 1, sarif_gate.stderr
    log = json.loads((repo / "audit.sarif").read_text(encoding="utf-8"))
    validate(schema, log)
    assert sarif_locations(log) == [("DB101", "shop/views.py", 17)]
    fingerprint = document["findings"][0]["fingerprint"]
    assert list(log["runs"][0]["results"][0]["partialFingerprints"].values()) == [fingerprint]

    # The diff alone also finds only the new loop: the query it wraps did not change.
    diff_only = audit(repo, "scan", "--diff", "main", "--format", "json")
    assert diff_only.returncode == 1
    assert [(f["rule"], f["line"]) for f in json.loads(diff_only.stdout)["findings"]] == [("DB101", 17)]

    # --fail-on none reports the same finding and passes.
    report_only = audit(repo, "scan", "--baseline", ".audit-baseline.json", "--diff", "main", "--fail-on", "none",
                        "--format", "json")
    assert report_only.returncode == 0
    assert json.loads(report_only.stdout)["findings"] == document["findings"]


def test_the_documented_github_workflow_commands(tmp_path, schema):  # noqa: F811
    """Run the ``audit`` steps of docs/ci.md's workflow as written, against an ``origin`` remote."""
    origin = new_repository(tmp_path / "origin")
    repo = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(repo))
    add_batch_endpoint(repo)
    text = (REPO_ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    workflow = yaml.safe_load(re.search(r"## GitHub Actions.*?```yaml\n(.*?)```", text, re.S).group(1))
    steps = workflow["jobs"]["audit"]["steps"]
    assert workflow["permissions"]["security-events"] == "write"
    assert steps[0]["with"]["fetch-depth"] == 0
    assert [s["uses"] for s in steps if "upload-sarif" in s.get("uses", "")] == ["github/codeql-action/upload-sarif@v3"]
    commands = [s["run"] for s in steps if s.get("run", "").startswith("audit ")]
    assert len(commands) == 2
    outcomes = []
    for command in commands:
        args = shlex.split(command.replace("${{ github.base_ref }}", "main"))[1:]
        outcomes.append(audit(repo, *args))
    sarif_run, github_run = outcomes
    assert (sarif_run.returncode, sarif_run.stdout) == (0, "")
    sarif = json.loads((repo / "audit.sarif").read_text(encoding="utf-8"))
    validate(schema, sarif)
    assert sarif_locations(sarif) == [("DB101", "shop/views.py", 17)]
    assert github_run.returncode == 1
    assert [line.split("::")[1] for line in github_run.stdout.splitlines()] == [
        "error file=shop/views.py,line=17,col=22,title=DB101 Database query inside a loop (critical%2C P0)"]


def test_pre_commit_hooks(tmp_path):
    hooks = {hook["id"]: hook for hook in yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert sorted(hooks) == ["audit", "audit-new"]
    for hook in hooks.values():
        assert (hook["language"], hook["pass_filenames"], hook["types"]) == ("python", False, ["python"])
    assert hooks["audit"]["entry"] == "audit scan --fail-on high"
    repo = new_repository(tmp_path)

    def run_hook(hook_id: str) -> int:
        return audit(repo, *shlex.split(hooks[hook_id]["entry"])[1:]).returncode

    # The whole tree has an old critical N+1; nothing is new against HEAD until the batch endpoint is staged.
    assert (run_hook("audit"), run_hook("audit-new")) == (1, 0)
    add_batch_endpoint(repo)
    git(repo, "reset", "-q", "--soft", "HEAD~1")  # the endpoint staged, not committed: what pre-commit sees
    assert (run_hook("audit"), run_hook("audit-new")) == (1, 1)
