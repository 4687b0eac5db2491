"""English clinical notes: names by evidence (titles in any case, relatives, credentials,
lexicons), partial dates and years in context, places, pagers, and the clinical words
that look like identifiers but are not. Every note here is made up for the test."""
from __future__ import annotations

import pytest

from deid.text.recognize import find


def found(text: str, partial: bool = True) -> dict[str, str]:
    return {text[s.start:s.end]: s.category for s in find(text, partial_dates=partial)}


@pytest.mark.parametrize("text,value", [
    ("pt is followed at the clinic by dr quorrel. plan unchanged.", "quorrel"),
    ("MRS BRUCKNER FAIR UNDERSTANDING OF PLAN. NO CHANGES.", "BRUCKNER"),
    ("Seen by Dr. Vasquez this am, no new orders.", "Vasquez"),
    ("SOCIAL: BROTHER THOMAS IN TO VISIT THIS EVE.", "THOMAS"),
    ("social: son bill called twice for update.", "bill"),
    ("Sister is health care proxy - Marcela Carlson who lives nearby.", "Marcela Carlson"),
    ("Vent weaned overnight. Emily Parker,RN", "Emily Parker"),
    ("SX THICK YELLOW SPUTUM. JON DEVAUX RRT", "JON DEVAUX"),
    ("Patient Charles W. Smith (MRN 12345678) seen today.", "Charles W. Smith"),
    ("mr masci had an uneventful night on the vent.", "masci"),
])
def test_names_found_by_their_evidence(text, value):
    assert found(text).get(value) == "name"


def test_a_name_found_once_is_found_everywhere_in_the_note():
    text = "Dr. Quorrel reviewed the film. Later QUORREL agreed with the plan."
    f = found(text)
    assert f.get("Quorrel") == "name" and f.get("QUORREL") == "name"


def test_partial_dates_follow_the_policy_switch_and_years_need_context():
    text = "PMH: MI 1992, CABG '95, CVA 81. Transferred on 7/22, extubated the 11th."
    on, off = found(text, True), found(text, False)
    for v in ("1992", "'95", "81", "7/22", "11th"):
        assert on.get(v) == "date", v
    assert "7/22" not in off and off.get("1992") == "date"


@pytest.mark.parametrize("text,value", [
    ("Transferred to GH for cath today.", "GH"),
    ("58 YO ADMITTED FROM CALVERT HOSPITAL AFTER A FALL", "CALVERT"),
    ("Plan: transfer to Quartermain 5 in am.", "Quartermain"),
    ("Lives in Catonsville with her daughter.", "Catonsville"),
    ("Accepted by St. Agnes for rehab.", "St. Agnes"),
    ("insulin drip per U Maryland protocol", "U Maryland"),
])
def test_places_hospitals_and_wards(text, value):
    assert found(text).get(value) == "location"


@pytest.mark.parametrize("text,value", [("Will f/u. Pager 83554.", "83554"), ("PG 33445", "33445"),
                                        ("son (240444-1243) called", "(240444-1243)")])
def test_pagers_and_mistyped_phones(text, value):
    assert found(text).get(value) == "phone"


@pytest.mark.parametrize("text", [
    "ID: AFEBRILE, WBC 9.8",                       # infectious disease, not a hospital number
    "Pt. on a/c 800x12/10/40% no changes made.",   # ventilator settings, not a date
    "abg on these settings: 80/48/7.45.34.7.",     # a blood gas, not an IP address
    "RR 20-24 with dec BS at bases",               # decreased, not December
    "HO called & in to evaluate Pt- Zaroxyln 10 mg po ordered",  # a misspelt drug, not a name
    "Foley catheter draining. Neo weaned, Levo at 4. Vanco trough sent. Parkinson's disease.",
    "NEURO: AAOX3, MAE. RESP: LS CLEAR. GI: ABD SOFT. GU: FOLEY. PLAN: CONT HEPARIN GTT.",
    "MAE 5/5 strength, pain 3/10 after tylenol",
])
def test_clinical_words_are_not_identifiers(text):
    assert found(text) == {}
