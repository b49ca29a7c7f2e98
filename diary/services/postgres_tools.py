"""PostgreSQL's client programs (pg_dump, pg_restore) for backups: found, checked, run.

pg_dump must be at least as new as the server it dumps (an older one refuses), and pg_restore
at least as new as the pg_dump that wrote the archive. The embedded server of `make run` and
`make test` (pgserver) is newer than many systems' clients, so its own binaries are tried
first, then PATH, then Debian's /usr/lib/postgresql/<major>/bin; PG_BIN_DIR (setting or the
commands' --pg-bin-dir) names the one directory to use instead. Whatever does not fit fails with
one line naming what was found.

The programs get the connection from PG* environment variables, never from the command line,
so that a password does not show in the process list.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEBIAN_BIN_DIRS = Path("/usr/lib/postgresql")
_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")


class ToolError(Exception):
    """A client program is missing, too old, or failed; the message is one line."""


@dataclass(frozen=True)
class Tool:
    name: str
    path: Path
    version: str  # "16.2"
    major: int


def server_major(version_num: int) -> int:
    """The major version of a server's `server_version_num` (160002 -> 16)."""
    return version_num // 10000


def _embedded_bin_dir() -> Path | None:
    """pgserver's own binaries, without importing it (it is not installed in production)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "pginstall" / "bin"


def _candidates(name: str, bin_dir: Path | None) -> Iterator[Path]:
    if bin_dir is not None:
        yield bin_dir / name
        return
    embedded = _embedded_bin_dir()
    if embedded is not None:
        yield embedded / name
    on_path = shutil.which(name)
    if on_path:
        yield Path(on_path)
    if DEBIAN_BIN_DIRS.is_dir():
        majors = [p for p in DEBIAN_BIN_DIRS.iterdir() if p.name.isdigit()]
        for version_dir in sorted(majors, key=lambda p: int(p.name), reverse=True):
            yield version_dir / "bin" / name


def tool_version(path: Path) -> Tool | None:
    """The program at `path` and its version, or None when it is missing or says no version."""
    if not (path.is_file() and os.access(path, os.X_OK)):
        return None
    try:
        result = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION.search(result.stdout)
    if result.returncode != 0 or match is None:
        return None
    major, minor = match.group(1), match.group(2)
    return Tool(
        name=path.name,
        path=path,
        version=f"{major}.{minor}" if minor else major,
        major=int(major),
    )


def tool_find(name: str, *, minimum_major: int, bin_dir: Path | None = None) -> Tool:
    """The first `name` (pg_dump, pg_restore) of major version `minimum_major` or later.

    Raises ToolError naming every candidate tried and its version.
    """
    tried: list[str] = []
    seen: set[Path] = set()
    for path in _candidates(name, bin_dir):
        if path in seen:
            continue
        seen.add(path)
        tool = tool_version(path)
        if tool is None:
            tried.append(f"{path} (missing or not runnable)")
            continue
        if tool.major >= minimum_major:
            return tool
        tried.append(f"{path} ({tool.version})")
    where = (
        f"PG_BIN_DIR {bin_dir}" if bin_dir is not None else "pgserver, PATH or /usr/lib/postgresql"
    )
    found = "; ".join(tried) if tried else "none"
    raise ToolError(
        f"{name}: none of version {minimum_major} or later in {where} (tried: {found}); "
        f"install PostgreSQL {minimum_major}'s client programs or set PG_BIN_DIR to their "
        "directory"
    )


def connection_env(database: Mapping[str, Any]) -> dict[str, str]:
    """The environment that points a client program at `database` (a Django DATABASES
    entry): this process's environment with the PG* variables replaced."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    for variable, key in (
        ("PGHOST", "HOST"),
        ("PGPORT", "PORT"),
        ("PGUSER", "USER"),
        ("PGPASSWORD", "PASSWORD"),
        ("PGDATABASE", "NAME"),
    ):
        value = database.get(key)
        if value:
            env[variable] = str(value)
    sslmode = (database.get("OPTIONS") or {}).get("sslmode")
    if sslmode:
        env["PGSSLMODE"] = str(sslmode)
    env["PGCONNECT_TIMEOUT"] = str((database.get("OPTIONS") or {}).get("connect_timeout", 10))
    return env


def tool_run(tool: Tool, args: list[str], *, env: Mapping[str, str]) -> str:
    """Run `tool` with `args`; its standard output. Raises ToolError with the program's last
    error line when it exits non-zero."""
    try:
        result = subprocess.run(
            [str(tool.path), *args], capture_output=True, text=True, env=dict(env), check=False
        )
    except OSError as exc:
        raise ToolError(f"{tool.name}: cannot run {tool.path}: {exc}") from exc
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        # The error, not the hint or detail lines PostgreSQL's programs print after it.
        errors = [line for line in lines if "error:" in line]
        reason = (errors or lines or [f"exit {result.returncode}"])[0]
        raise ToolError(f"{tool.name} failed (exit {result.returncode}): {reason}")
    return result.stdout
