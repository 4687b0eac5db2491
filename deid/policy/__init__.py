"""Policy engine: pipeline YAML -> decisions with rule ids. See docs/policy.md."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from ..errors import PolicyError
from .decision import ACTIONS, Decision
from .engine import DicomPolicy, Pipeline, build_pipeline

DEFAULT_PIPELINE = "dicom-basic"


# the shipped pipelines: inside the package in a wheel (setup.py copies them there), in the
# checkout's top-level pipelines/ folder otherwise -- the same files either way
_PACKAGE = Path(__file__).resolve().parent.parent
SHIPPED = next(
    (d for d in (_PACKAGE / "pipelines", _PACKAGE.parent / "pipelines") if d.is_dir()), _PACKAGE / "pipelines"
)


def pipeline_dirs() -> list[Path]:
    """Where pipeline names are looked up: $DEID_PIPELINES, then the shipped folder."""
    dirs = []
    if os.environ.get("DEID_PIPELINES"):
        dirs.append(Path(os.environ["DEID_PIPELINES"]))
    dirs.append(SHIPPED)
    return [d for d in dirs if d.is_dir()]


def shipped_pipelines() -> list[str]:
    names: set[str] = set()
    for d in pipeline_dirs():
        names |= {p.stem for p in d.glob("*.yaml")}
    return sorted(names)


def load_pipeline(name_or_path: str | os.PathLike | None = None) -> Pipeline:
    """Load a pipeline by shipped name (e.g. 'dicom-research') or by YAML file path."""
    target = str(name_or_path or DEFAULT_PIPELINE)
    path = Path(target)
    if not path.is_file():
        for d in pipeline_dirs():
            cand = d / f"{target}.yaml"
            if cand.is_file():
                path = cand
                break
        else:
            raise PolicyError(
                f"no pipeline named {target!r}; shipped: {', '.join(shipped_pipelines())} "
                "(or give a path to a YAML file)"
            )
    try:
        raw = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PolicyError(f"{path}: cannot read pipeline YAML ({type(exc).__name__}); check the file") from None
    return build_pipeline(raw, str(path))


__all__ = [
    "ACTIONS",
    "Decision",
    "DicomPolicy",
    "Pipeline",
    "PolicyError",
    "build_pipeline",
    "load_pipeline",
    "shipped_pipelines",
    "DEFAULT_PIPELINE",
]
