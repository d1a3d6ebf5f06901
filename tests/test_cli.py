"""``okpay-gateway`` as a user meets it: messages, never tracebacks, for bad input."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from okpay_gateway import __version__
from okpay_gateway.cli import build_parser

# A guard against a hung process, not a speed assertion.
DEADLINE_SECONDS = 120


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, "-m", "okpay_gateway.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=DEADLINE_SECONDS,
        check=False,
    )


def assert_message(result: subprocess.CompletedProcess, *expected: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    for text in expected:
        assert text in result.stderr


@pytest.fixture
def busy_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_version(tmp_path):
    """``--version`` prints the installed version."""
    result = run_cli("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"okpay-gateway {__version__}"


def _options(parser: argparse.ArgumentParser, prefix: str = "okpay-gateway"):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _options(sub, f"{prefix} {name}")
        elif not isinstance(action, argparse._HelpAction):
            yield prefix, action


def test_every_option_has_help_text():
    """No option is left for the user to guess."""
    missing = [
        f"{where} {action.option_strings or action.dest}"
        for where, action in _options(build_parser())
        if not action.help or action.help == argparse.SUPPRESS
    ]
    assert missing == []


@pytest.mark.parametrize("command", ["emulator", "demo"])
def test_server_on_a_busy_port_says_so(command, busy_port, tmp_path):
    """A port another process holds is a one-line message and exit code 2."""
    result = run_cli(
        command,
        "--port",
        str(busy_port),
        "--data-dir",
        str(tmp_path / "d"),
        cwd=tmp_path,
    )
    assert_message(result, f"cannot listen on 127.0.0.1:{busy_port}", "in use")


@pytest.mark.parametrize("command", ["emulator", "demo"])
@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_port_out_of_range_is_refused(command, port, tmp_path):
    """Ports outside 0-65535 are refused by the argument parser."""
    result = run_cli(command, "--port", port, "--data-dir", str(tmp_path), cwd=tmp_path)
    assert_message(result, "argument --port:", "is not a port number")


@pytest.mark.parametrize("command", ["emulator", "demo"])
def test_data_dir_that_cannot_be_created_says_so(command, tmp_path):
    """A data directory below a plain file names the directory and the reason."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = run_cli(
        command, "--port", "0", "--data-dir", str(blocker / "data"), cwd=tmp_path
    )
    assert_message(
        result,
        f"cannot create the data directory {blocker / 'data'}",
        "Not a directory",
    )


@pytest.mark.parametrize("interval", ["-5", "nan", "soon"])
def test_demo_negative_renew_interval_is_refused(interval, tmp_path):
    """A renewal interval must be 0 (off) or positive; -5 used to be accepted."""
    result = run_cli("demo", "--renew-interval", interval, cwd=tmp_path)
    assert_message(result, "argument --renew-interval:")


def test_renew_with_unknown_settings_module_says_so(tmp_path):
    """``renew --settings nope.settings`` names the module instead of a traceback."""
    result = run_cli("renew", "--settings", "nope.settings", cwd=tmp_path)
    assert_message(
        result, "cannot import the settings module 'nope.settings'", "No module named"
    )


def test_renew_without_settings_says_so(tmp_path):
    """Neither --settings nor DJANGO_SETTINGS_MODULE: a message on stderr."""
    result = run_cli("renew", cwd=tmp_path)
    assert_message(result, "give --settings or set DJANGO_SETTINGS_MODULE")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "No such file or directory"),
        ("{not json", "Expecting property name"),
        ('{"wallets": [{"email": 3}], "contracts": []}', "email is required"),
    ],
)
def test_emulator_seed_errors_name_the_file(content, reason, tmp_path):
    """Missing, unreadable JSON or invalid seed: the message names the file."""
    seed = tmp_path / "my-seed.json"
    if content is not None:
        seed.write_text(content)
    result = run_cli(
        "emulator",
        "--port",
        "0",
        "--data-dir",
        str(tmp_path / "d"),
        "--seed",
        str(seed),
        cwd=tmp_path,
    )
    assert_message(result, f"cannot load the seed file {seed}", reason)
