"""English clinical notes: names by evidence (titles in any case, relatives, credentials,
lexicons), partial dates and years in context, places, pagers, and the clinical words
that look like identifiers but are not. Every note here is made up for the test."""

from __future__ import annotations

import pytest

from deid.text.recognize import find


def found(text: str, partial: bool = True) -> dict[str, str]:
    return {text[s.start : s.end]: s.category for s in find(text, partial_dates=partial)}


@pytest.mark.parametrize(
    "text,value",
    [
        ("pt is followed at the clinic by dr quorrel. plan unchanged.", "quorrel"),
        ("MRS BRUCKNER FAIR UNDERSTANDING OF PLAN. NO CHANGES.", "BRUCKNER"),
        ("Seen by Dr. Okafor this am, no new orders.", "Okafor"),
        ("SOCIAL: BROTHER THOMAS IN TO VISIT THIS EVE.", "THOMAS"),
        ("social: son bill phoned twice tonight for an update.", "bill"),
        ("Niece is her health care proxy - Rosalind Vantongeren, lives nearby.", "Rosalind Vantongeren"),
        ("Vent weaned overnight. Emily Nardelli,RN", "Emily Nardelli"),
        ("SUCTIONED MOD AMT TAN SECRETIONS. JON DELACOURT RRT", "JON DELACOURT"),
        ("Patient Charles W. Smith (MRN 12345678) seen today.", "Charles W. Smith"),
        ("mr nardelli rested well overnight on the vent.", "nardelli"),
    ],
)
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


@pytest.mark.parametrize(
    "text,value",
    [
        ("Pt to go to WH for cath today.", "WH"),
        ("58 YO WAS SENT FROM DRUMMOND HOSPITAL AFTER A FALL", "DRUMMOND HOSPITAL"),
        ("Plan: transfer to Hallorann 5 in am.", "Hallorann"),
        ("Lives in Frostburg with her daughter.", "Frostburg"),
        ("Accepted by St. Brigid for rehab.", "St. Brigid"),
        ("insulin drip per U Maryland protocol", "U Maryland"),
    ],
)
def test_places_hospitals_and_wards(text, value):
    assert found(text).get(value) == "location"


@pytest.mark.parametrize(
    "text,value",
    [("Will f/u. Pager 60817.", "60817"), ("PG 47219", "47219"), ("son (410555-0172) called", "(410555-0172)")],
)
def test_pagers_and_mistyped_phones(text, value):
    assert found(text).get(value) == "phone"


@pytest.mark.parametrize(
    "text",
    [
        "ID: AFEBRILE, WBC 9.8",  # infectious disease, not a hospital number
        "Pt remains on a/c 700x14/8/50%, no changes.",  # ventilator settings, not a date
        "abg after vent change: 78/44/7.41.33.2.",  # a blood gas, not an IP address
        "RR 18-22, dec BS at both bases",  # decreased, not December
        "HO in to see pt. Pt- Metoprolo 25 mg po given",  # a misspelt drug, not a name
        "Foley draining clear urine. Neo off, Levo at 2. Vanco level pending. Parkinson's disease.",
        "NEURO: AAOX3, MAE. RESP: LS CLEAR. GI: ABD SOFT. GU: FOLEY. PLAN: CONT HEPARIN GTT.",
        "MAE 5/5 strength, pain 3/10 after tylenol",
    ],
)
def test_clinical_words_are_not_identifiers(text):
    assert found(text) == {}


# Places by their context, not by a list of places: every sentence below is made up, and
# no hospital, ward or firm in it is in any shipped list.
@pytest.mark.parametrize(
    "text,value",
    [
        ("pt to be transferred to mercy heart hospital tomorrow.", "mercy heart hospital"),  # clinical word in a name
        ("Pt sent from Regional Hospital for cath last night.", "Regional Hospital"),  # suffix words only, cued
        ("58 YO TRANSFERRED FROM NJ HOSPITAL FOR EVAL", "NJ HOSPITAL"),  # a state code's hospital
        ("Patient was accepted by Bright Meadow Rehab for placement.", "Bright Meadow Rehab"),  # two plain words, cued
        ("MRI done at the West Campus this am.", "West Campus"),
        ("Family drove in overnight from the Western Shore to see her.", "Western Shore"),  # direction + landform
        ("DAUGHTER DRIVING UP FROM THE WESTERN SHORE TONIGHT.", "WESTERN SHORE"),
        ("Pt will follow up with cardiology at Valley next month.", "Valley"),  # landform used as a name
        ("HUSBAND RETIRED FROM ZENTROX LAST YEAR.", "ZENTROX"),  # an employer
        ("Plan: transfer to Hallorann4 in am.", "Hallorann4"),  # the floor goes with it
        ("PT'S SISTER FLYING BACK TO Frostburg IN AM.", "Frostburg"),  # a capital in a CAPS note
    ],
)
def test_places_found_by_context(text, value):
    assert found(text).get(value) == "location"


@pytest.mark.parametrize(
    "text,value",
    [
        ("PLAN REVIEWED WITH NP ROSE, NO CHANGES TONIGHT.", "ROSE"),  # a given name that is also a word, after NP
        ("Chest tube care discussed with Dr. Swan this am.", "Swan"),  # a surname that names a catheter too
        ("suctioned for moderate white secretions. k. marlow rrt", "k. marlow"),  # lower-case note and credential
        ("Family at bedside. Veltrina Oskamp called from work.", "Veltrina Oskamp"),  # two capitalised unknown words
        ("spoke with holly brenwick about dressing supplies.", "holly brenwick"),
        ("SW TO FOLLOW UP TOMORROW (MONICA IS OFF TODAY).", "MONICA"),  # a given name in a CAPS note
        ("both nieces are her health care proxies. marta and lou", "marta"),
        ("HEPARIN INCREASED TO 1000U/HR, NEXT PTT AT 0200. MARGARET", "MARGARET"),  # a short note signed at its end
    ],
)
def test_names_found_by_context(text, value):
    assert found(text).get(value) == "name"


@pytest.mark.parametrize(
    "text,value",
    [
        ("On PS 10/PEEP 5, trach changed 9/17 without problems.", "9/17"),  # an event verb outweighs vent words
        ("Heparin to be stopped 4/31 per team.", "4/31"),  # a mistyped day is still a date
    ],
)
def test_dates_in_ventilator_and_mistyped_context(text, value):
    assert found(text).get(value) == "date"


@pytest.mark.parametrize(
    "text",
    [
        "PT ANXIOUS ABOUT HOW LONG SHE MUST REMAIN IN HOSPITAL.",  # 'IN' is a state code and a word
        "Rhythm now Junctional Tachycardia, rate 105.",  # clinical words no list holds
        "DIET: ADA DIET, TAKING HALF OF MEALS. ANA SENT.",
        "plan to change the lij cortis/pa to a tlc tomorrow. uop 50cc/h, will monitor.",
        "DBP ranged 100-110'4/31-35 overnight, team aware.",  # a mistyped day needs a space before it
    ],
)
def test_clinical_context_is_not_a_place_name_or_date(text):
    assert found(text) == {}


@pytest.mark.parametrize(
    "surname",
    [
        "Smith",
        "Brown",
        "Green",
        "White",
        "Young",
        "King",
        "Wood",
        "Black",
        "Hill",
        "Rose",
        "Miller",
        "Bell",
        "Fox",
        "Hall",
        "Lee",
        "Long",
        "Street",
    ],
)
def test_mr_and_ms_without_a_full_stop_still_announce_a_surname(surname):
    """'Mr Smith' in mixed text is Mister (MR and ms are mitral regurgitation and mental
    status only in their own spelling); surnames that are English words too."""
    for text in (f"Seen by Mr {surname} today.", f"Ms {surname} called back."):
        assert surname in [text[s.start : s.end] for s in find(text)], text


@pytest.mark.parametrize("text", ["see file mr.dcm", "mild MR noted, ms intact", "MR brain negative."])
def test_mr_that_is_no_title_announces_nothing(text):
    assert [s for s in find(text) if s.category == "name"] == []
