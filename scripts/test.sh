#!/usr/bin/env bash
# Install everything the test suite needs into .venv and run it. Used by README and .ci/run.
#
# The tests start a private PostgreSQL cluster (tests/postgres.py) and need the server binaries,
# pg_stat_statements and HypoPG. When one is missing they are installed from the Debian/Ubuntu
# packages (as root, or through passwordless sudo), and the run then requires them
# (AUDIT_REQUIRE_POSTGRES=1: a missing server fails the PostgreSQL tests instead of skipping
# them). Set AUDIT_REQUIRE_POSTGRES=0 to let them skip, AUDIT_NO_APT=1 to never call apt-get.
# The HTML report's browser test drives Debian's chromium through chromium-driver (selenium, from
# the test extras; nothing is downloaded at run time): both are installed the same way, and
# AUDIT_REQUIRE_BROWSER=1 makes a missing browser a failure (0 lets the test skip).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}

note() { echo "scripts/test.sh: $*" >&2; }

# Highest PostgreSQL major version whose server binaries are installed, or nothing.
pg_major() {
  local dir ver best=""
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ] || continue
    ver=${dir#/usr/lib/postgresql/}; ver=${ver%/bin}
    case $ver in *[!0-9]*|'') continue ;; esac
    if [ -z "$best" ] || [ "$ver" -gt "$best" ]; then best=$ver; fi
  done
  echo "$best"
}

# What the PostgreSQL tests lack (Debian package names), given the installed major version.
pg_missing() {
  local major=$1
  if [ -z "$major" ]; then
    echo "server"
    return
  fi
  local ext=/usr/share/postgresql/$major/extension lib=/usr/lib/postgresql/$major/lib
  if [ ! -f "$ext/pg_stat_statements.control" ] || [ ! -f "$lib/pg_stat_statements.so" ]; then
    echo "postgresql-contrib"
  fi
  if [ ! -f "$ext/hypopg.control" ]; then
    echo "postgresql-$major-hypopg"
  fi
}

as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    return 97
  fi
}

APT_UPDATED=0
apt_update() {
  [ "$APT_UPDATED" = 1 ] && return 0
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || note "apt-get update failed"
  APT_UPDATED=1
}

apt_install() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_postgres() {
  local major missing default
  major=$(pg_major)
  missing=$(pg_missing "$major")
  [ -z "$missing" ] && return 0
  note "PostgreSQL for the tests is incomplete (missing: $(echo $missing)); installing it"
  if [ "${AUDIT_NO_APT:-0}" = 1 ] || ! command -v apt-get >/dev/null 2>&1; then
    note "cannot install: no apt-get (or AUDIT_NO_APT=1); install PostgreSQL, pg_stat_statements and HypoPG by hand"
    return 0
  fi
  if ! as_root true; then
    note "cannot install: not root and no passwordless sudo; run: sudo apt-get install postgresql postgresql-contrib postgresql-NN-hypopg"
    return 0
  fi
  apt_update
  if [ -z "$major" ]; then
    # Debian's default major version: the one the `postgresql` metapackage depends on.
    default=$(apt-cache depends postgresql 2>/dev/null | sed -n 's/^ *Depends: postgresql-\([0-9][0-9]*\)$/\1/p' | head -n 1)
    if [ -n "$default" ]; then
      apt_install postgresql postgresql-contrib "postgresql-$default-hypopg" || note "apt-get install failed"
    else
      apt_install postgresql postgresql-contrib || note "apt-get install failed"
    fi
    major=$(pg_major)
  else
    # shellcheck disable=SC2086
    apt_install $missing || note "apt-get install of $(echo $missing) failed"
  fi
  missing=$(pg_missing "$major")
  if [ -n "$missing" ] && [ "$missing" != "${missing#*hypopg}" ] && [ -n "$major" ]; then
    apt_install "postgresql-$major-hypopg" || true
    missing=$(pg_missing "$major")
  fi
  if [ -n "$missing" ]; then
    note "still missing after apt-get: $(echo $missing)"
  else
    note "PostgreSQL $major with pg_stat_statements and HypoPG is installed"
  fi
}

# Chromium and its WebDriver for tests/test_html_browser.py.
ensure_browser() {
  if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    return 0
  fi
  note "chromium or chromedriver is missing; installing them"
  if [ "${AUDIT_NO_APT:-0}" = 1 ] || ! command -v apt-get >/dev/null 2>&1; then
    note "cannot install: no apt-get (or AUDIT_NO_APT=1); install chromium and chromium-driver by hand"
    return 0
  fi
  if ! as_root true; then
    note "cannot install: not root and no passwordless sudo; run: sudo apt-get install chromium chromium-driver"
    return 0
  fi
  apt_update
  apt_install chromium chromium-driver || note "apt-get install of chromium chromium-driver failed"
}

ensure_postgres
ensure_browser

if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
export AUDIT_REQUIRE_POSTGRES="${AUDIT_REQUIRE_POSTGRES:-1}"
export AUDIT_REQUIRE_BROWSER="${AUDIT_REQUIRE_BROWSER:-1}"
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
