"""Ship the top-level pipelines/ folder inside the package (deid/pipelines/ in every wheel),
so that an installed deid runs its shipped pipelines with no checkout around it; a source
checkout reads the same files from pipelines/ (deid/policy/__init__.py)."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithPipelines(build_py):
    def run(self):
        super().run()
        dest = Path(self.build_lib) / "deid" / "pipelines"
        dest.mkdir(parents=True, exist_ok=True)
        for f in sorted(Path(__file__).resolve().parent.joinpath("pipelines").glob("*.yaml")):
            shutil.copyfile(f, dest / f.name)


setup(cmdclass={"build_py": BuildWithPipelines})
