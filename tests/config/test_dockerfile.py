"""The production image, read by the parser Docker itself uses (no container engine runs here).

The `dockerfile` package wraps moby's own parser, so a file reads here exactly as `docker build`
reads it. `dockerfile-parse` does not: it ends a RUN at a blank line after a line continuation,
where Docker joins the next instruction into the command (a `USER app` once went that way, into
collectstatic's arguments).
"""

from __future__ import annotations

import shlex
from pathlib import Path

import dockerfile
import pytest

ROOT = Path(__file__).resolve().parents[2]

# Every instruction Docker knows: none may appear as a word inside a RUN's command.
INSTRUCTIONS = {
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
    "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
}  # fmt: skip


def stages() -> list[list[dockerfile.Command]]:
    """The instructions of each build stage, in order (a stage starts at each FROM)."""
    found: list[list[dockerfile.Command]] = []
    for command in dockerfile.parse_file(str(ROOT / "Dockerfile")):
        if command.cmd == "FROM":
            found.append([])
        found[-1].append(command)
    return found


def runtime_stage() -> list[dockerfile.Command]:
    return stages()[-1]


def shell_words(command: dockerfile.Command) -> list[str]:
    return shlex.split(" ".join(command.value))


def test_no_run_swallows_the_next_instruction():
    for stage in stages():
        for command in stage:
            if command.cmd == "RUN":
                swallowed = INSTRUCTIONS & set(shell_words(command))
                assert not swallowed, f"line {command.start_line}: RUN ends with {swallowed}"


def test_static_files_are_collected_in_the_build_stage_with_nothing_else_as_arguments():
    runs = [c for c in runtime_stage() if c.cmd == "RUN" and "collectstatic" in shell_words(c)]
    assert len(runs) == 1, "the stage the image runs collects static files once"
    words = shell_words(runs[0])
    arguments = words[words.index("collectstatic") + 1 :]
    for separator in ("&&", ";", "||"):
        if separator in arguments:
            arguments = arguments[: arguments.index(separator)]
    assert arguments == ["--noinput"]


def test_the_image_runs_as_a_user_that_is_not_root_after_the_build():
    stage = runtime_stage()
    users = [index for index, command in enumerate(stage) if command.cmd == "USER"]
    assert users, "no USER: the image would run as root"
    last = stage[users[-1]]
    name, _, group = last.value[0].partition(":")
    assert name not in {"root", "0"} and group not in {"root", "0"}
    collect = next(i for i, c in enumerate(stage) if "collectstatic" in " ".join(c.value))
    assert users[-1] > collect, "the build runs as root; the process that serves does not"
    user_created = [c for c in stage[: users[-1]] if c.cmd == "RUN" and "useradd" in c.value[0]]
    assert user_created, "USER names an account that the image creates"


def test_the_image_starts_gunicorn_with_its_config_file_in_exec_form():
    cmd = [c for c in runtime_stage() if c.cmd == "CMD"]
    assert len(cmd) == 1 and cmd[0].json, "one CMD, in exec form (signals reach gunicorn)"
    assert list(cmd[0].value) == [
        "gunicorn",
        "--config",
        "config/gunicorn.conf.py",
        "config.wsgi:application",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "FROM python:3.11-slim\nRUN echo one \\\n\nUSER app\n",
        'FROM python:3.11-slim\nRUN echo one \\\n    && echo two \\\n\n\nCMD ["true"]\n',
    ],
)
def test_the_parser_joins_across_a_blank_line_as_docker_does(text):
    """The reason for this parser: a continuation before a blank line runs on."""
    parsed = dockerfile.parse_string(text)
    assert [c.cmd for c in parsed] == ["FROM", "RUN"]
