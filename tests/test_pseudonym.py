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
