"""A content-addressed cache of per-file facts, so that a re-scan parses only the files that changed.

An entry is keyed by the file's path in the scanned tree and its bytes, and lives in a directory
named after the tool key (the version, every source file of the ``auditor`` package, the libcst
and Python versions): any change to the tool starts a fresh directory and removes the old ones.
Entries are pickled :class:`~auditor.facts.ModuleFacts` signed with an HMAC under a secret kept in
the user's cache home, so an entry is unpickled only if this user's ``audit`` wrote it (a cache
directory shipped inside a scanned repository is never trusted). Any unreadable, foreign or
corrupt entry counts as a miss and is rebuilt; cache trouble never fails a scan.
"""

from __future__ import annotations

import gc
import hashlib
import hmac
import os
import pickle
import re
import secrets
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Optional

from auditor import __version__
from auditor.facts import ModuleFacts

CACHE_FORMAT = 1
_MAGIC = b"audit-facts\n"
_DIGEST_SIZE = 32


def default_cache_home() -> Path:
    """``$XDG_CACHE_HOME/audit``, else ``~/.cache/audit``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "audit"


def tool_key() -> str:
    """A digest of everything that decides what extraction produces: the sources of
    ``auditor.extract`` and of every ``auditor`` module it imports, directly or not."""
    digest = hashlib.sha256(f"{CACHE_FORMAT}|{__version__}|{sys.implementation.name}|"
                            f"{sys.version_info[:2]}|{_libcst_version()}".encode())
    package = Path(__file__).resolve().parent
    for source in _extraction_sources(package):
        digest.update(source.relative_to(package).as_posix().encode() + b"\0")
        digest.update(source.read_bytes())
    return digest.hexdigest()[:24]


# ``from auditor.x import a, b``, ``from auditor.x import (a,\n b)`` and ``import auditor.x``, at
# any indentation.
_IMPORT = re.compile(rb"^[ \t]*(?:from[ \t]+(auditor(?:\.\w+)*)[ \t]+import[ \t]+(?:\(([^)]*)\)|([\w \t,]*))"
                     rb"|import[ \t]+(auditor(?:\.\w+)*))", re.MULTILINE)


def _extraction_sources(package: Path) -> list:
    """``auditor/extract.py`` and the package's modules it imports (followed transitively)."""
    seen: set = set()
    pending = [package / "extract.py", package / "facts.py"]
    while pending:
        source = pending.pop()
        if source in seen or not source.is_file():
            continue
        seen.add(source)
        for module, grouped, names, imported in _IMPORT.findall(source.read_bytes()):
            if imported:
                candidates = [imported.decode()]
            else:
                base = module.decode()
                candidates = [base] + [f"{base}.{name}" for name in re.findall(r"\w+", (grouped or names).decode())]
            for name in candidates:
                relative = Path(*name.split(".")[1:])
                pending += [package / relative.with_suffix(".py"), package / relative / "__init__.py"]
    return sorted(seen)


def _libcst_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("libcst")
    except PackageNotFoundError:
        return "?"


class FactCache:
    """Facts of files seen before, under ``directory/facts/<tool key>/``."""

    def __init__(self, directory: Path, secret: bytes, key: str) -> None:
        self.directory = directory
        self.entries = directory / "facts" / key
        self.tool = key.encode()
        self._secret = secret
        self.hits = 0
        self.misses = 0

    @classmethod
    def open(cls, directory: Path) -> "FactCache":
        """The cache under ``directory`` (created); raises OSError when it cannot be used."""
        directory = directory.expanduser().resolve()
        key = tool_key()
        entries = directory / "facts" / key
        fresh = not entries.is_dir()
        entries.mkdir(parents=True, exist_ok=True)
        if fresh:  # the tool changed: entries of other versions can never be used again
            for old in (directory / "facts").iterdir():
                if old.name != key and old.is_dir():
                    shutil.rmtree(old, ignore_errors=True)
        return cls(directory, _secret(), key)

    @staticmethod
    def key(rel: str, data: bytes) -> str:
        """The entry name of a file's facts: its path in the tree and its bytes."""
        return hashlib.sha256(rel.encode("utf-8", "surrogateescape") + b"\0" + data).hexdigest()

    def _path(self, key: str) -> Path:
        return self.entries / key[:2] / key[2:]

    def load(self, key: str) -> Optional[ModuleFacts]:
        """The cached facts, or None (absent, written by another tool, tampered with, corrupt)."""
        facts = self.read_signed(self._path(key), key)
        return facts if isinstance(facts, ModuleFacts) else None

    def store(self, key: str, facts: ModuleFacts) -> None:
        """Write an entry atomically; a full or read-only disk only loses the entry."""
        self.write_signed(self._path(key), key, facts)

    def read_signed(self, path: Path, key: str) -> object:
        """The object pickled at ``path`` under ``key`` by this user's ``audit``, or None."""
        try:
            blob = path.read_bytes()
        except OSError:
            return None
        header = _MAGIC + self.tool + b"\n"
        signature, body = blob[len(header):len(header) + _DIGEST_SIZE], blob[len(header) + _DIGEST_SIZE:]
        if not blob.startswith(header) or not hmac.compare_digest(signature, self._sign(key, body)):
            return None
        try:
            return pickle.loads(body)
        except Exception:  # noqa: BLE001 - a signed but unloadable entry is rebuilt like any miss
            return None

    def write_signed(self, path: Path, key: str, value: object) -> None:
        """Pickle and sign ``value`` at ``path`` atomically; a full or read-only disk loses it."""
        body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(_MAGIC + self.tool + b"\n" + self._sign(key, body) + body)
                os.replace(temporary, path)
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError:
            pass

    def _sign(self, key: str, body: bytes) -> bytes:
        return hmac.new(self._secret, self.tool + key.encode() + body, hashlib.sha256).digest()


def _secret() -> bytes:
    """This user's signing key, created (mode 0600) on first use in the cache home."""
    home = default_cache_home()
    path = home / "secret"
    try:
        return _read_secret(path)
    except FileNotFoundError:
        missing = True
    except (OSError, ValueError):
        missing = False
    home.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=home, prefix=".secret-")
    with os.fdopen(handle, "wb") as out:  # mkstemp creates the file with mode 0600
        out.write(secrets.token_bytes(32))
    try:
        if missing:
            os.link(temporary, path)  # never replaces a key another process has just created
        else:
            os.replace(temporary, path)
    except FileExistsError:
        pass
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    try:
        return _read_secret(path)
    except ValueError as exc:
        raise OSError(f"unusable key file {path}") from exc


def _read_secret(path: Path) -> bytes:
    data = path.read_bytes()
    if len(data) != 32:
        raise ValueError("bad key")
    return data


def load_all(cache: FactCache, keys: dict) -> dict:
    """``{rel: facts}`` for every ``rel -> key`` the cache holds (the collector paused: unpickling
    many small objects otherwise triggers a collection every few hundred)."""
    found = {}
    enabled = gc.isenabled()
    gc.disable()
    try:
        for rel, key in keys.items():
            facts = cache.load(key)
            if facts is not None:
                found[rel] = facts
    finally:
        if enabled:
            gc.enable()
    cache.hits += len(found)
    return found
