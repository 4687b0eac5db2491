"""The pseudonym key: made only by `deid key new`, never because a path was mistyped;
a key file others can read, or a key with less than 128 bits of material, is refused."""

from __future__ import annotations

import stat

import pytest
from typer.testing import CliRunner

from deid.cli import app
from deid.errors import KeyError_
from deid.pseudonym import decode_key, key_bits
from helpers import make_ds, write

runner = CliRunner()


@pytest.fixture
def no_key(monkeypatch, tmp_path):
    monkeypatch.delenv("DEID_KEY")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    write(make_ds(), tmp_path / "in" / "x.dcm")
    return tmp_path


def _run(tmp_path, *extra, env=None):
    return runner.invoke(app, ["run", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "-q", *extra], env=env)


def test_a_run_never_makes_a_key(no_key):
    typo = no_key / "kye"
    res = _run(no_key, "--key-file", str(typo))
    assert res.exit_code == 2 and "does not exist" in res.output and "deid key new" in res.output
    assert not typo.exists() and not (no_key / "out").exists()
    res = _run(no_key)
    assert res.exit_code == 2 and "no key" in res.output and "deid key new" in res.output
    assert not (no_key / "config" / "deid" / "key").exists()


def test_key_new_makes_one_private_key_once_and_runs_use_it(no_key):
    res = runner.invoke(app, ["key", "new"])
    assert res.exit_code == 0, res.output
    key = no_key / "config" / "deid" / "key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    before = key.read_bytes()
    again = runner.invoke(app, ["key", "new"])
    assert again.exit_code == 2 and "exists" in again.output and key.read_bytes() == before
    assert _run(no_key).exit_code == 0


def test_a_key_file_others_can_read_is_refused(no_key):
    path = no_key / "k"
    assert runner.invoke(app, ["key", "new", "--key-file", str(path)]).exit_code == 0
    path.chmod(0o644)
    res = _run(no_key, "--key-file", str(path))
    assert res.exit_code == 2 and "can be read by other users (mode 644)" in res.output
    path.chmod(0o600)
    assert _run(no_key, "--key-file", str(path)).exit_code == 0


@pytest.mark.parametrize("weak", [b"a" * 16, b"a" * 64, b"0123456789abcdef", b"abcdefgh" * 4])
def test_keys_below_128_bits_are_refused(no_key, weak):
    path = no_key / "weak"
    path.write_bytes(weak + b"\n")
    path.chmod(0o600)
    res = _run(no_key, "--key-file", str(path))
    assert res.exit_code == 2 and "less than 128 bits" in res.output
    assert _run(no_key, env={"DEID_KEY": weak.decode()}).exit_code == 2
    with pytest.raises(KeyError_):
        decode_key(weak, "test")


def test_random_keys_of_128_bits_pass():
    import base64
    import secrets

    for _ in range(50):
        assert key_bits(secrets.token_hex(16).encode()) >= 128
        assert key_bits(base64.b64encode(secrets.token_bytes(16))) >= 128
