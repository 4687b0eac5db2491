"""Shared fixtures. Every value here is synthetic."""

from __future__ import annotations

import pytest

from deid.pseudonym import Pseudonymizer
from helpers import KEY


@pytest.fixture(autouse=True)
def _isolated_key(monkeypatch, tmp_path_factory):
    """Never touch the user's ~/.config/deid/key from tests."""
    monkeypatch.setenv("DEID_KEY", KEY.decode())
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg")))


@pytest.fixture
def pseudo() -> Pseudonymizer:
    return Pseudonymizer(KEY)
