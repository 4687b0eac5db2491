"""The shipped word lists are the ones their sources give (SHA-256 pinned in
deid/text/data/SOURCES.md) and say what the recognizers rely on."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from deid.text import lexicon as L

DATA = Path(L.__file__).resolve().parent / "data"


def test_every_pinned_list_matches_its_recorded_sha256():
    rows = re.findall(r"^\| `([^`]+\.gz)` .* \| `([0-9a-f]{64})` \|$", (DATA / "SOURCES.md").read_text("utf-8"), re.M)
    assert len(rows) == 5
    for name, digest in rows:
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest, name


def test_lexicons_tell_names_words_and_clinical_terms_apart():
    assert L.surname_count("okafor") > 1_000 and L.given_share("mary") > 1
    assert L.is_common("grant") and L.is_name("grant")  # a name that is also a word
    assert L.is_clinical("lasix") and L.is_clinical("neo") and not L.is_name("lasix")
    assert "frostburg" in L.places() and L.key("O'Rourke's") == "orourke"
    assert L.near_drug("metoprolo") and not L.near_drug("okafor")
