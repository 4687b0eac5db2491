"""What a fresh machine gets: the pipelines ship inside the package (a wheel carries them;
.ci/run installs one in a fresh virtual environment and runs it), and the README's two
commands need nothing outside the clone."""

from __future__ import annotations

import re

from deid.policy import DEFAULT_PIPELINE, load_pipeline, shipped_pipelines
from helpers import REPO


def test_pipelines_are_package_data(tmp_path):
    """The shipped pipelines live in the top-level pipelines/ folder and go into every wheel
    as deid/pipelines/ (setup.py): one set of files, read by the tests and shipped."""
    import subprocess
    import sys

    source = {p.name for p in (REPO / "pipelines").glob("*.yaml")}
    assert {"dicom-basic.yaml", "dicom-research.yaml", "records.yaml"} <= source
    assert set(shipped_pipelines()) == {n[:-5] for n in source}
    assert load_pipeline().name == DEFAULT_PIPELINE
    # what a wheel build puts into the package (.ci/run also builds and runs a real wheel)
    subprocess.run(
        [sys.executable, "setup.py", "-q", "build_py", "-d", str(tmp_path)],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=600,
    )
    assert {p.name for p in (tmp_path / "deid" / "pipelines").iterdir()} == source


def test_ci_runs_the_readme_commands_and_a_wheel():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    install = re.search(r"## Install\s+```bash\n(.+?)\n```", readme, re.S).group(1).strip()
    test = re.search(r"## Test\s+```bash\n(.+?)\n```", readme, re.S).group(1).strip()
    assert install in ci.splitlines() and test in ci.splitlines()
    assert "pip wheel" in ci and "venv" in ci and 'deid" run' in ci


def test_tests_read_nothing_outside_the_clone():
    outside = re.compile("|".join([r"[\"']shared[\"']", r"\.\./shared", "/" + "work/"]))  # (not this line)
    for path in (REPO / "tests").rglob("*.py"):
        assert not outside.search(path.read_text(encoding="utf-8")), path


def test_readme_keeps_the_vault_under_a_path_the_user_controls():
    readme = (REPO / "README.md").read_text()
    paths = re.findall(r"(?:--vault|--vault-key-file|vault export)\s+([^\s-]\S*)", readme)
    assert paths and all(p.startswith("~/") for p in paths), paths
