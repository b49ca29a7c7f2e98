"""The web push key pair comes from the environment, or from .data/ under `make run` (DEBUG)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from config import vapid


def test_the_environments_pair_is_taken_when_it_belongs_together(tmp_path):
    private, public = vapid.keypair_generate()
    keys = vapid.vapid_keys(private=private, public=public, debug=False, path=tmp_path / "k")
    assert keys == (private, public)
    assert not (tmp_path / "k").exists()


def test_one_key_without_the_other_is_refused_naming_both(tmp_path):
    private, _ = vapid.keypair_generate()
    with pytest.raises(ImproperlyConfigured, match="VAPID_PRIVATE_KEY and VAPID_PUBLIC_KEY"):
        vapid.vapid_keys(private=private, public="", debug=False, path=tmp_path / "k")


def test_a_public_key_of_another_pair_is_refused(tmp_path):
    private, _ = vapid.keypair_generate()
    _, other_public = vapid.keypair_generate()
    with pytest.raises(ImproperlyConfigured, match="VAPID_PUBLIC_KEY: is not the public key"):
        vapid.vapid_keys(private=private, public=other_public, debug=False, path=tmp_path / "k")


def test_a_private_key_that_is_not_one_is_refused(tmp_path):
    with pytest.raises(ImproperlyConfigured, match="VAPID_PRIVATE_KEY: must be a P-256"):
        vapid.vapid_keys(private="hello", public="world", debug=False, path=tmp_path / "k")


def test_without_keys_push_is_off_in_production(tmp_path):
    assert vapid.vapid_keys(private="", public="", debug=False, path=tmp_path / "k") == ("", "")


def test_make_run_keeps_one_pair_under_data(tmp_path):
    path = tmp_path / ".data" / "vapid-private-key"
    first = vapid.vapid_keys(private="", public="", debug=True, path=path)
    again = vapid.vapid_keys(private="", public="", debug=True, path=path)
    assert first == again and all(first)
    assert path.read_text() == first[0]
    assert path.stat().st_mode & 0o777 == 0o600


def test_the_command_prints_a_pair_for_the_environment():
    result = subprocess.run(
        [sys.executable, "-m", "config.vapid"], capture_output=True, text=True, check=True
    )
    lines = dict(line.split("=", 1) for line in result.stdout.splitlines())
    assert vapid.public_from_private(lines["VAPID_PRIVATE_KEY"]) == lines["VAPID_PUBLIC_KEY"]
