"""`deid pull` from Orthanc as the PACS (C-FIND + C-GET) into the pipeline and on to a
second Orthanc as the research destination; resumable, and no key value in its output."""

from __future__ import annotations

from typer.testing import CliRunner

from deid.cli import app
from dicom_peers import make_study_files, needs_dcmtk, needs_orthanc, start_orthanc, storescu, wait_for

pytestmark = [needs_orthanc, needs_dcmtk]


def test_pull_a_list_of_studies_and_resume(tmp_path):
    pacs = start_orthanc(tmp_path / "pacs", {"SEED": None, "DEID": None})
    dest = start_orthanc(tmp_path / "dest", {"DEID": None})
    try:
        make_study_files(tmp_path / "in", 9, patients=3)  # PID-0000..PID-0002, ACC0000..ACC0002
        storescu(pacs.dicom_port, tmp_path / "in", aet="SEED", called="ORTHANC")
        wait_for(lambda: len(pacs.instances()) == 9, what="the PACS seeded")
        listing = tmp_path / "list.csv"
        listing.write_text("AccessionNumber,PatientID\nACC0000,\n,PID-0001\nACC9999,\n")
        args = ["pull", "--from", pacs.peer, "--list", str(listing), "--spool", str(tmp_path / "spool"),
                "--forward", dest.peer, "--pipeline", "dicom-research", "-q"]  # fmt: skip
        r = CliRunner().invoke(app, args)
        assert r.exit_code == 1, r.output  # one row found nothing
        assert "fetched 2" in r.output and "not found 1" in r.output and "forwarded 6" in r.output
        for value in ("ACC0000", "PID-0001", "ACC9999"):
            assert value not in r.output
        assert len(dest.instances()) == 6 and len(dest.get("/patients")) == 2
        done = (tmp_path / "spool" / "pull-done.txt").read_text()
        assert len(done.split()) == 2 and "ACC" not in done and "PID" not in done  # keyed fingerprints only
        # a rerun with one more row fetches only that row
        listing.write_text("AccessionNumber\nACC0000\nACC0002\n")
        r = CliRunner().invoke(app, [*args])
        assert r.exit_code == 0, r.output
        assert "done earlier 1" in r.output and "fetched 1" in r.output and "forwarded 3" in r.output
        assert len(dest.instances()) == 9 and len(dest.get("/patients")) == 3
        assert CliRunner().invoke(app, ["audit", "verify", str(tmp_path / "spool.audit.sqlite")]).exit_code == 0
    finally:
        pacs.stop()
        dest.stop()


def test_pull_configuration_errors_exit_2(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("Name\nX\n")
    base = ["pull", "--spool", str(tmp_path / "spool"), "--forward", "A@127.0.0.1:1"]
    for extra in (["--from", "nowhere", "--list", str(bad)], ["--from", "P@127.0.0.1:1", "--list", str(bad)]):
        r = CliRunner().invoke(app, [*base, *extra])
        assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output


def test_a_list_value_c_find_would_read_as_a_wildcard_is_refused(tmp_path):
    """PatientID `*` or `ACC1*` (or a `\\` list) would fetch studies that are not on the
    researcher's list: the list is refused, naming the row, never the value."""
    import pytest

    from deid.errors import DeidError
    from deid.gateway.pull import read_list

    for header, value in [
        ("PatientID", "*"),
        ("AccessionNumber", "ACC1*"),
        ("PatientID", "A\\B"),
        ("AccessionNumber", "AC?1"),
        ("StudyInstanceUID", "1.2.x"),
    ]:
        lst = tmp_path / "list.csv"
        lst.write_text(f"{header}\nGOOD1\n{value}\n" if header != "StudyInstanceUID" else f"{header}\n1.2.3\n{value}\n")
        with pytest.raises(DeidError, match="row 2") as exc:
            read_list(lst)
        assert len(value) < 3 or value not in str(exc.value)
    lst.write_text("AccessionNumber\nACC-1\nACC-2\n")
    assert [r.value for r in read_list(lst)] == ["ACC-1", "ACC-2"]
