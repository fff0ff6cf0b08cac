"""A private, throwaway PostgreSQL cluster for ``audit profile --demo``, the tests and the benchmarks.

``PostgresCluster`` finds the server binaries, ``initdb``s a cluster into a temporary directory,
starts it on a free TCP port of 127.0.0.1 (its unix socket stays inside that directory), creates
a database with ``pg_stat_statements`` and, when installed, ``hypopg``, and removes everything
again on ``stop()``. It never touches a system cluster.

``initdb`` and ``postgres`` refuse to run as root: under euid 0 the server commands run as the
``postgres`` system user (``runuser -u postgres --``), and the directory is handed to that user.

Usage::

    with PostgresCluster() as pg:
        conn = pg.connect()
        ...
    # or: pg = PostgresCluster(); pg.start(); ...; pg.stop()

Only the standard library is needed to find and start the server; ``psycopg2`` is needed to
create the database and the extensions (and for ``connect()``).
"""

from __future__ import annotations

import atexit
import glob
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Optional

SERVER_PROGRAMS = ("initdb", "pg_ctl", "postgres")
SUPERUSER = "postgres"


class PostgresUnavailable(RuntimeError):
    """No usable PostgreSQL server installation (binaries, system user) on this machine."""


def _version_key(bindir: Path) -> tuple:
    match = re.search(r"/(\d+)(?:\.(\d+))?/bin/?$", str(bindir))
    if not match:
        return (0, 0)
    return (int(match.group(1)), int(match.group(2) or 0))


def _has_server(bindir: Path) -> bool:
    return all(os.access(bindir / prog, os.X_OK) for prog in SERVER_PROGRAMS)


def find_bindir() -> Optional[Path]:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``, or None.

    ``$AUDIT_PG_BINDIR`` wins; then the highest version under ``/usr/lib/postgresql/*/bin``
    (Debian, Ubuntu) and ``/usr/pgsql-*/bin`` (RPM); then ``pg_config --bindir`` (which may
    name a client-only installation) and ``$PATH``.
    """
    explicit = os.environ.get("AUDIT_PG_BINDIR")
    if explicit:
        return Path(explicit) if _has_server(Path(explicit)) else None
    candidates = [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin") + glob.glob("/usr/pgsql-*/bin")]
    for bindir in sorted(candidates, key=_version_key, reverse=True):
        if _has_server(bindir):
            return bindir
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10)
            if out.returncode == 0 and _has_server(Path(out.stdout.strip())):
                return Path(out.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    initdb = shutil.which("initdb")
    if initdb and _has_server(Path(initdb).parent):
        return Path(initdb).parent
    return None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _traversable_by_others(path: Path) -> bool:
    """Whether every directory from / down to ``path`` lets other users pass (o+x)."""
    path = path.resolve()
    for part in [path, *path.parents]:
        try:
            if not part.stat().st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
    return True


class PostgresCluster:
    """A private PostgreSQL cluster in a temporary directory. See the module docstring."""

    def __init__(
        self,
        dbname: str = "audit_test",
        bindir: Optional[Path] = None,
        extensions: tuple = ("pg_stat_statements", "hypopg"),
        settings: Optional[dict] = None,
        locale: str = "C.UTF-8",
    ):
        self.dbname = dbname
        self.bindir = Path(bindir) if bindir else find_bindir()
        self.extensions = tuple(extensions)
        self.settings = dict(settings or {})
        self.locale = locale
        self.host = "127.0.0.1"
        self.user = SUPERUSER
        self.port: Optional[int] = None
        self.base_dir: Optional[Path] = None
        self.version: Optional[int] = None  # server major version, once started
        self.installed_extensions: dict = {}  # name -> version, in ``dbname``
        self.missing_extensions: dict = {}  # name -> why CREATE EXTENSION failed
        self._run_as: list = []
        self._started = False

    # -- properties -------------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base_dir / "sock"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "server.log"

    @property
    def dsn(self) -> str:
        """``postgresql://postgres@127.0.0.1:PORT/dbname`` (trust authentication, no password)."""
        return self.dsn_for(self.dbname)

    def dsn_for(self, dbname: str) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    @property
    def has_hypopg(self) -> bool:
        return "hypopg" in self.installed_extensions

    @property
    def has_pg_stat_statements(self) -> bool:
        return "pg_stat_statements" in self.installed_extensions

    @property
    def running(self) -> bool:
        return self._started

    # -- life cycle -------------------------------------------------------------------------

    def __enter__(self) -> "PostgresCluster":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> "PostgresCluster":
        if self._started:
            return self
        if self.bindir is None:
            raise PostgresUnavailable(
                "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in "
                "/usr/lib/postgresql/*/bin, pg_config --bindir or $PATH; install the Debian "
                "package `postgresql` (bash scripts/test.sh does) or set AUDIT_PG_BINDIR"
            )
        self._run_as = self._server_user_prefix()
        self.base_dir = self._make_base_dir()
        atexit.register(self.stop)
        try:
            self._initdb()
            self._write_config()
            self._start_server()
            self._create_database()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server (immediately: the data is throwaway) and delete the directory."""
        if self.base_dir is None:
            return
        if self._started or (self.data_dir / "postmaster.pid").exists():
            self._pg_ctl_stop()
        self._started = False
        shutil.rmtree(self.base_dir, ignore_errors=True)
        self.base_dir = None
        try:
            atexit.unregister(self.stop)
        except Exception:  # pragma: no cover - atexit.unregister does not raise in practice
            pass

    # -- connections ------------------------------------------------------------------------

    def connect(self, dbname: Optional[str] = None, autocommit: bool = False, **kwargs):
        """A new psycopg2 connection to ``dbname`` (default: the test database)."""
        import psycopg2

        conn = psycopg2.connect(self.dsn_for(dbname or self.dbname), connect_timeout=10, **kwargs)
        conn.autocommit = autocommit
        return conn

    def create_database(self, name: str, extensions: tuple = ()) -> str:
        """Create another database (optionally with extensions); return its DSN."""
        conn = self.connect("postgres", autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        if extensions:
            conn = self.connect(name, autocommit=True)
            try:
                with conn.cursor() as cur:
                    for ext in extensions:
                        cur.execute(f'CREATE EXTENSION IF NOT EXISTS "{ext}"')
            finally:
                conn.close()
        return self.dsn_for(name)

    # -- internals --------------------------------------------------------------------------

    def _server_user_prefix(self) -> list:
        """The command prefix that runs server programs as a non-root user ([] when not root)."""
        if os.geteuid() != 0:
            return []
        try:
            import pwd

            pwd.getpwnam(SUPERUSER)
        except KeyError as exc:
            raise PostgresUnavailable(
                "running as root, and there is no `postgres` system user to run the server as "
                "(initdb refuses to run as root); install the Debian package `postgresql`, "
                "which creates it, or run the tests as an unprivileged user"
            ) from exc
        runuser = shutil.which("runuser") or "/usr/sbin/runuser"
        if os.access(runuser, os.X_OK):
            return [runuser, "-u", SUPERUSER, "--"]
        su = shutil.which("su")
        if su:
            return [su, "-s", "/bin/sh", SUPERUSER, "-c", '"$0" "$@"']
        raise PostgresUnavailable("running as root, and neither runuser nor su is available")

    def _make_base_dir(self) -> Path:
        parent = Path(tempfile.gettempdir())
        if self._run_as and not _traversable_by_others(parent):
            parent = Path("/tmp")  # the postgres user must be able to reach the directory
        if len(str(parent)) > 60:
            parent = Path("/tmp")  # unix socket paths are limited to ~107 bytes
        base = Path(tempfile.mkdtemp(prefix="audit-pg-", dir=parent))
        if self._run_as:
            self._give_to_server_user(base)
        return base

    @staticmethod
    def _give_to_server_user(path: Path) -> None:
        import pwd

        entry = pwd.getpwnam(SUPERUSER)
        os.chown(path, entry.pw_uid, entry.pw_gid)

    def _run(self, args: list, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("PG") and key not in ("LANG", "LANGUAGE") and not key.startswith("LC_")
        }
        env["LC_ALL"] = "C"
        cmd = self._run_as + [str(a) for a in args]
        result = subprocess.run(
            cmd, cwd=self.base_dir, env=env, capture_output=True, text=True, timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(cmd)} failed with exit code {result.returncode}:\n"
                f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}{self._log_tail()}"
            )
        return result

    def _log_tail(self, limit: int = 3000) -> str:
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n--- server log ---\n" + text[-limit:]

    def _initdb(self) -> None:
        base = [
            self.bindir / "initdb", "-D", self.data_dir, "-U", SUPERUSER, "--auth=trust",
            "--encoding=UTF8", "--no-sync",
        ]
        locales = [self.locale, "C"] if self.locale and self.locale != "C" else ["C"]
        last = None
        for loc in locales:
            result = self._run(base + [f"--locale={loc}"], check=False)
            if result.returncode == 0:
                self.locale = loc
                return
            last = result
            shutil.rmtree(self.data_dir, ignore_errors=True)
        raise RuntimeError(f"initdb failed:\n{last.stdout[-2000:]}\n{last.stderr[-2000:]}")

    def _write_config(self) -> None:
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.socket_dir}'",
            "shared_preload_libraries": "'pg_stat_statements'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "30",
            "logging_collector": "off",
            "log_min_messages": "warning",
        }
        settings.update({k: str(v) for k, v in self.settings.items()})
        lines = ["", "# written by audit (auditor/profile/cluster.py)"] + [f"{k} = {v}" for k, v in settings.items()]
        text = "\n".join(lines) + "\n"
        # Appending keeps the file's owner (the server user when we run as root).
        with open(self.data_dir / "postgresql.conf", "a", encoding="utf-8") as handle:
            handle.write(text)
        self.socket_dir.mkdir(mode=0o700, exist_ok=True)
        if self._run_as:
            self._give_to_server_user(self.socket_dir)

    def _start_server(self, attempts: int = 5) -> None:
        last_error = None
        for _ in range(attempts):
            self.port = free_port(self.host)
            result = self._run(
                [
                    self.bindir / "pg_ctl", "-D", self.data_dir, "-l", self.log_file, "-w", "-t", "60",
                    "-o", f"-p {self.port}", "start",
                ],
                check=False,
            )
            if result.returncode == 0:
                self._started = True
                return
            last_error = f"{result.stdout[-1500:]}\n{result.stderr[-1500:]}{self._log_tail()}"
            if "Address already in use" not in last_error and "could not bind" not in last_error:
                break
        raise RuntimeError(f"pg_ctl start failed:\n{last_error}")

    def _pg_ctl_stop(self) -> None:
        try:
            self._run([self.bindir / "pg_ctl", "-D", self.data_dir, "-m", "immediate", "-w", "stop"],
                      timeout=60, check=False)
        except (OSError, subprocess.SubprocessError):
            pass
        pid_file = self.data_dir / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        # pg_ctl did not manage: kill the postmaster we started (and only it).
        try:
            os.kill(pid, signal.SIGQUIT)
            for _ in range(50):
                os.kill(pid, 0)
                time.sleep(0.1)
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        except PermissionError:
            pass

    def _create_database(self) -> None:
        import psycopg2

        conn = self.connect("postgres", autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW server_version_num")
                self.version = int(cur.fetchone()[0]) // 10000
                cur.execute(f'CREATE DATABASE "{self.dbname}"')
        finally:
            conn.close()
        conn = self.connect(autocommit=True)
        try:
            with conn.cursor() as cur:
                for ext in self.extensions:
                    try:
                        cur.execute(f'CREATE EXTENSION IF NOT EXISTS "{ext}"')
                    except psycopg2.Error as exc:
                        self.missing_extensions[ext] = (exc.pgerror or str(exc)).strip()
                cur.execute("SELECT extname, extversion FROM pg_extension")
                self.installed_extensions = dict(cur.fetchall())
        finally:
            conn.close()

    def __repr__(self) -> str:
        state = f"port {self.port}" if self._started else "stopped"
        return f"<PostgresCluster {self.bindir} {state} db={self.dbname}>"
