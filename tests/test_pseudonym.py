"""Keyed derivations are plain HMAC-SHA256, so an auditor can recompute them with any library."""

from __future__ import annotations

import hashlib
import hmac

from deid.pseudonym import Pseudonymizer


def test_fingerprint_is_hmac_sha256_of_namespaced_value():
    key = b"another-test-key-0123456789abcdef"
    p = Pseudonymizer(key)
    for value in ("DOE^JANE", "李^建国", b"\x00\x01raw"):
        data = value if isinstance(value, bytes) else value.encode("utf-8")
        want = hmac.new(key, b"audit\x00" + data, hashlib.sha256).hexdigest()[:24]
        assert p.fingerprint(value) == want
    assert Pseudonymizer(b"x" * 32).fingerprint("DOE^JANE") != p.fingerprint("DOE^JANE")


def test_precomputed_pads_match_hmac_for_every_key_length():
    # keys up to the block size are padded, longer ones hashed first (RFC 2104)
    for key in (b"k" * 16, b"k" * 64, b"k" * 65, bytes(range(200))):
        want = hmac.new(key, b"uid\x001.2.3", hashlib.sha256).digest()
        assert Pseudonymizer(key)._mac("uid", "1.2.3") == want


def test_a_files_pseudonymizer_derives_the_same_values_from_its_memo():
    p = Pseudonymizer(b"k" * 32)
    f = p.per_file()
    for _ in range(2):  # the second round comes from the memo
        assert f.fingerprint("DOE^JANE") == p.fingerprint("DOE^JANE")
        assert f.pseudonym("id:123") == p.pseudonym("id:123")
        assert f.date_offset("id:123", -30, 30) == p.date_offset("id:123", -30, 30)
    assert f.fingerprint("DOE^JOHN") != f.fingerprint("DOE^JANE")


def test_twelve_digits_are_not_taken_for_deids_own_value():
    """A bare 12-hex FHIR id pseudonym is deid's; twelve digits are an identifier's shape
    (the gate must still judge them)."""
    from deid.pseudonym import is_own_pseudonym

    assert is_own_pseudonym("0A1B2C3D4E5F") and is_own_pseudonym("P-716DCAE99AA0")
    assert not is_own_pseudonym("123456789012") and not is_own_pseudonym("12345678901A2")
