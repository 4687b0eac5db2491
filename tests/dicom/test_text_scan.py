"""DICOM text outside Table E.1-1 (CodeMeaning, a kept safe-private text) is scanned by
the same recognizers as records: a value that names the patient or holds an identifier
is cleaned, the rest is kept byte for byte. An attribute no dictionary knows is removed:
a name there with no cue word would pass any recognizer."""

from __future__ import annotations

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from dicom.test_probe import deid
from helpers import make_ds, pipeline


def test_unknown_attributes_go_and_coded_text_that_names_the_patient_is_cleaned():
    ds = make_ds(name="HERNANDEZ^DEANNA", Manufacturer="SYNTHETIC")
    ds.add_new(0x00881030, "LO", "Hernandez follow-up, call 410-555-0199")  # (0088,1030): no dictionary knows it
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator = "T-D0050", "SRT"
    code.CodeMeaning = "Seen by Dr. Quorrel on 03/14/2024"
    ds.AnatomicRegionSequence = Sequence([code])
    ds.add_new(0x00881032, "LO", "BIGGLESWORTH ZORK")  # a name, no cue word: no recognizer can tell
    ds.add_new(0x00881034, "US", 7)  # numbers stay
    out, _, events = deid(ds, pipeline())
    assert 0x00881030 not in out and 0x00881032 not in out and out[0x00881034].value == 7
    assert {e.location for e in events if e.rule_id == "deid:unknown-attribute"} == {"(0088,1030)", "(0088,1032)"}
    meaning = out.AnatomicRegionSequence[0].CodeMeaning
    assert "Quorrel" not in meaning and "03/14/2024" not in meaning and meaning.startswith("Seen by")
    assert out.Manufacturer == "SYNTHETIC"
    assert any(e.rule_id == "deid:scan-kept-text" for e in events)
    assert not any("Hernandez" in (e.detail or "") for e in events)


def test_a_kept_safe_private_value_that_holds_the_patients_name_or_id_does_not_stay():
    """retain_safe_private keeps listed private elements; their values are scanned like
    other kept text (they were not: a name in a CS slot reached the destination). Text is
    cleaned; a coded or numeric value (CS, IS) cannot be cleaned in part and is removed
    when it holds something; harmless values stay byte for byte."""
    from helpers import to_bytes

    def siemens(cs: str, number: str):
        ds = make_ds(patient_id="31337042", name="TESTPERSON^PAT")
        blk = ds.private_block(0x0019, "SIEMENS MR HEADER", create=True)
        blk.add_new(0x0D, "CS", cs)  # DiffusionDirectionality: a safe slot
        blk.add_new(0x0C, "IS", number)  # B_value: a safe slot
        out, _, events = deid(ds, pipeline(["retain_safe_private"]))
        return out, to_bytes(out), events

    _out, raw, events = siemens("TESTPERSON", "31337042")
    assert b"TESTPERSON" not in raw and b"31337042" not in raw
    assert {e.action for e in events if e.rule_id == "deid:scan-kept-text"} == {"remove"}
    out, raw, _ = siemens("DIRECTIONAL", "1000")
    blk = out.private_block(0x0019, "SIEMENS MR HEADER")
    assert blk[0x0D].value == "DIRECTIONAL" and str(blk[0x0C].value) == "1000"
