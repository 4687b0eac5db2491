"""What a run is asked to do: one RunConfig, checked as it is built.

`deid run` builds it from its options (RunConfig.build); a gateway or a test can build
one the same way. Every problem found here is a usage or configuration error (DeidError:
one line, exit 2), found before any input is read or anything is written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from ..errors import DeidError
from .executors import Engine, Limits
from .job import Naming
from .sinks import FolderSink

if TYPE_CHECKING:
    from ..policy import Pipeline

FORMATS = ("text", "json")  # the summary on stdout: for people, or one JSON object for scripts


@dataclass(frozen=True)
class RunConfig:
    inputs: tuple[Path, ...]  # as given (each lands under its own name when several)
    out: Path  # resolved
    audit: Path  # resolved: --audit, else <out>.audit.sqlite beside --out
    quarantine: Path  # <out>.quarantine, beside --out
    pipeline: Pipeline
    secret: bytes = field(repr=False)  # the pseudonym key
    engine: Engine = Engine.LOCAL
    limits: Limits = Limits()
    timeout: float = 900.0  # seconds one input may take (0: no limit)
    naming: Naming = Naming.MIRROR
    fmt: str = "text"
    dry_run: bool = False
    preview: Path | None = None  # resolved
    resume: bool | None = None  # None: resume when the audit log shows an interrupted run
    vault: Path | None = None  # as given
    vault_key_file: Path | None = None

    @classmethod
    def build(
        cls,
        inputs: Sequence[Path],
        out: Path,
        *,
        pipeline: str | None = None,
        key_file: Path | None = None,
        audit: Path | None = None,
        engine: str = "local",
        workers: int = 0,
        timeout: float = 900.0,
        max_memory: int = 0,
        scheduler: str | None = None,
        dry_run: bool = False,
        naming: str = "mirror",
        fmt: str = "text",
        preview: Path | None = None,
        resume: bool | None = None,
        vault: Path | None = None,
        vault_key_file: Path | None = None,
    ) -> RunConfig:
        """Check the options in the order a person fixes them (words, then the pipeline,
        the folders, the key, then how the paths sit together) and derive the rest."""
        from ..policy import load_pipeline
        from ..pseudonym import load_key
        from .discover import check_paths

        for value, name, allowed in (
            (naming, "--naming", [n.value for n in Naming]),
            (fmt, "--format", FORMATS),
            (engine, "--engine", [e.value for e in Engine]),
        ):
            if value not in allowed:
                raise DeidError(f"{name} must be one of {', '.join(allowed)}")
        if scheduler and engine != Engine.DASK:
            raise DeidError("--scheduler needs --engine dask")
        pipe = load_pipeline(pipeline)
        check_paths(list(inputs), out)
        secret, _where = load_key(key_file)
        out = out.resolve()
        audit_path = (audit or out.with_name(out.name + ".audit.sqlite")).resolve()
        if out in audit_path.parents:
            raise DeidError("--audit must not be inside --out: uploading the output would upload the audit log")
        if preview is not None and (out == preview.resolve() or out in preview.resolve().parents):
            raise DeidError("--preview must not be inside --out: previews are for people, not for upload")
        if vault is not None and vault.resolve() in (audit_path, out):
            raise DeidError("--vault must be its own file, not the audit log or the output folder")
        if dry_run and (vault or vault_key_file):
            raise DeidError("--vault with --dry-run: a dry run writes nothing, so it keeps no vault either")
        return cls(
            tuple(inputs),
            out,
            audit_path,
            out.with_name(out.name + ".quarantine"),
            pipe,
            secret,
            Engine(engine),
            Limits(workers or os.cpu_count() or 1, max_memory, scheduler),
            timeout,
            Naming(naming),
            fmt,
            dry_run,
            preview.resolve() if preview is not None else None,
            resume,
            vault,
            vault_key_file,
        )

    def sink(self) -> FolderSink:
        """Where this run writes: --out, its quarantine, and --preview (never in a dry run)."""
        return FolderSink(self.out, self.quarantine, None if self.dry_run else self.preview)
