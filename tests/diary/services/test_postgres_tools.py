"""Finding pg_dump and pg_restore that fit the server, and running them (one line on failure)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from diary.services import postgres_tools
from diary.services.postgres_tools import (
    ToolError,
    connection_env,
    server_major,
    tool_find,
    tool_run,
    tool_version,
)


def program(directory: Path, name: str, body: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def versioned(directory: Path, name: str, version: str) -> Path:
    return program(directory, name, f'echo "{name} (PostgreSQL) {version}"')


def test_server_major_reads_server_version_num() -> None:
    assert server_major(160002) == 16
    assert server_major(90624) == 9


def test_the_version_is_read_from_the_program_itself(tmp_path) -> None:
    tool = tool_version(versioned(tmp_path, "pg_dump", "16.2 (Debian 16.2-1)"))
    assert (tool.version, tool.major) == ("16.2", 16)
    assert tool_version(tmp_path / "absent") is None
    assert tool_version(program(tmp_path, "broken", "exit 3")) is None


def test_a_bin_dir_is_the_only_place_looked_at(tmp_path) -> None:
    versioned(tmp_path / "bin", "pg_dump", "17.1")
    assert tool_find("pg_dump", minimum_major=16, bin_dir=tmp_path / "bin").major == 17


def test_a_too_old_program_is_refused_in_one_line_naming_it(tmp_path) -> None:
    old = versioned(tmp_path / "bin", "pg_dump", "15.20")
    with pytest.raises(ToolError) as refused:
        tool_find("pg_dump", minimum_major=16, bin_dir=tmp_path / "bin")
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("pg_dump: none of version 16 or later in PG_BIN_DIR")
    assert f"{old} (15.20)" in message
    assert "set PG_BIN_DIR" in message


def test_the_first_that_fits_wins_embedded_first_then_path(tmp_path, monkeypatch) -> None:
    embedded, on_path = tmp_path / "embedded", tmp_path / "path"
    versioned(embedded, "pg_dump", "15.4")
    versioned(on_path, "pg_dump", "16.9")
    monkeypatch.setattr(postgres_tools, "_embedded_bin_dir", lambda: embedded)
    monkeypatch.setattr(postgres_tools, "DEBIAN_BIN_DIRS", tmp_path / "none")
    monkeypatch.setenv("PATH", str(on_path))

    assert tool_find("pg_dump", minimum_major=16).path == on_path / "pg_dump"
    assert tool_find("pg_dump", minimum_major=15).path == embedded / "pg_dump"
    with pytest.raises(ToolError, match=r"pgserver, PATH or /usr/lib/postgresql .*15\.4.*16\.9"):
        tool_find("pg_dump", minimum_major=17)


def test_the_embedded_servers_own_pg_dump_is_found() -> None:
    # The test server is pgserver's; its pg_dump fits it whatever the system's client is.
    tool = tool_find("pg_dump", minimum_major=16)
    assert tool.major >= 16


def test_a_failing_program_reports_its_error_line(tmp_path) -> None:
    tool = tool_version(
        program(
            tmp_path,
            "pg_dump",
            'if [ "$1" = "--version" ]; then echo "pg_dump (PostgreSQL) 16.2"; exit 0; fi\n'
            'echo "pg_dump: error: connection refused" >&2\n'
            'echo "pg_dump: detail: is the server running?" >&2; exit 1',
        )
    )
    with pytest.raises(ToolError, match=r"^pg_dump failed \(exit 1\): pg_dump: error: connection"):
        tool_run(tool, ["--file=x"], env={})


def test_the_connection_goes_by_environment_never_by_argument(monkeypatch) -> None:
    monkeypatch.setenv("PGPASSWORD", "someone-elses")
    monkeypatch.setenv("PGSERVICE", "other")
    env = connection_env(
        {
            "NAME": "epro",
            "USER": "epro_owner",
            "PASSWORD": "s3cret",
            "HOST": "/run/epro/pg",
            "PORT": "",
        }
    )
    assert env["PGDATABASE"] == "epro"
    assert env["PGUSER"] == "epro_owner"
    assert env["PGPASSWORD"] == "s3cret"
    assert env["PGHOST"] == "/run/epro/pg"
    assert "PGPORT" not in env and "PGSERVICE" not in env
