"""RecordHandler: patient records by file type -> de-identified bytes, same format and
encoding, with one audit event per field or span. Pure, like DicomHandler.

`findings()` runs the same readers, field map and recognizers with the "find, don't
change" operator set (deid/operators/find.py) and no key: what `process()` would still
change, as Findings. `deid check` and the pipeline's `verify:` step call it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core import AuditEvent, Context, FileHandler, Item, Result, Status
from ..errors import InputError
from ..findings import LOOK, Finding, Look

if TYPE_CHECKING:
    from ..pseudonym import Pseudonymizer
    from .operators import Operators
    from .scrub import Scrubber

SUFFIXES = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".txt": "text",
    ".text": "text",
    ".hl7": "hl7",
}
MAX_BYTES = 512 * 1024 * 1024
FIND_KEY = "find"  # the fallback patient key's file part in a find run (no fingerprint: there is no key)


def record_kind(path: str) -> str | None:
    return SUFFIXES.get(Path(path).suffix.lower())


@lru_cache(maxsize=1)
def _finding_operators() -> type[Operators]:
    """The record stack's "find, don't change" operator set: `find` stands in for every
    operator the policy names but `keep` and `generalize`; a value the policy generalises
    (a birth date, an address, an age) is a finding when generalising it would still
    change it: 1990-03-07 is one, 1990 is not; a street address is one, its province and
    city are not (find alone cannot judge these: a generalised value looks like any other)."""
    from .operators import Operators

    class FindOperators(Operators):
        def apply(self, op: str, category: str, value: str, patient_key: str, context: str = "") -> Any:
            if op == "generalize":  # keyless and idempotent: found where generalising would still change it
                new = super().apply(op, category, value, patient_key, context)
                return value if isinstance(new, str) and new.strip() == value.strip() else ""
            return super().apply(op if op == "keep" else "find", category, value, patient_key, context)

    return FindOperators


class RecordHandler(FileHandler):
    """Its readers, recognizers and operators are imported on the first record, not with
    the routing table: DICOM-only work never pays for them."""

    kind = "records"

    def sniff(self, path: str, head: bytes) -> bool:
        return record_kind(path) is not None

    def findings(self, item: Item, ctx: Context | None, data: bytes | None = None, look: Look = LOOK) -> list[Finding]:
        """What `process()` would still change in this file under `ctx.pipeline`: one
        Finding (location, category, rule; never a value) per field or span, the file's
        path included. Nothing is written and no key is used (`ctx.pseudo` is not read).
        A file that cannot be read is one finding at <file>, its reason's code as rule.
        Records hold no pixels and show no excerpts: the other options are the protocol's."""
        from ..operators.find import NoKey

        if ctx is None:  # the default pipeline's field map and recognizers
            from ..policy import load_pipeline

            ctx = Context(load_pipeline(None), NoKey())
        if data is None:
            try:
                data = Path(item.source).read_bytes()
            except OSError:
                return [Finding(item.relpath, "<file>", "unreadable", "unreadable-file")]
        res = self._scrub(data, FIND_KEY, ctx, item.relpath, NoKey(), _finding_operators())
        if res.status != Status.OK:
            return [Finding(item.relpath, "<file>", "unreadable", res.reason.split(":", 1)[0])]
        return [Finding(item.relpath, ev.location, ev.category, ev.rule_id) for ev in res.events]

    def _process(self, data: bytes, fp: str, ctx: Context, relpath: str) -> Result:
        return self._scrub(data, fp, ctx, relpath, ctx.pseudo, None)

    def _scrub(
        self, data: bytes, fp: str, ctx: Context, relpath: str, pseudo: Pseudonymizer, operators: type[Operators] | None
    ) -> Result:
        """`operators`: the operator set (None: the policy's, records.operators.Operators)."""
        from .formats.delimited import scrub_delimited
        from .formats.hl7v2 import scrub_hl7
        from .formats.jsonish import scrub_json, scrub_jsonl
        from .formats.text import scrub_text_file
        from .operators import Operators
        from .scrub import Scrubber

        kind = record_kind(relpath)
        scrubber = Scrubber(
            ctx.pipeline.records, pseudo, ctx.pipeline.dicom.date_shift_days, "file:" + fp, operators or Operators
        )
        if ctx.collect_mappings and operators is None:
            scrubber.ops.mappings = []
        try:
            if kind is None:
                raise InputError("unsupported-type: not a record file kind")
            if len(data) > MAX_BYTES:
                raise InputError("too-large: record files over 512 MiB are not processed in one piece")
            if kind in ("csv", "tsv"):
                out, events = scrub_delimited(data, scrubber, "," if kind == "csv" else "\t")
            elif kind == "json":
                out, events = scrub_json(data, scrubber)
            elif kind == "jsonl":
                out, events = scrub_jsonl(data, scrubber)
            elif kind == "hl7":
                out, events = scrub_hl7(data, scrubber)
            else:
                out, events = scrub_text_file(data, scrubber)
        except InputError as exc:
            return Result(Status.QUARANTINED, reason=str(exc), input_fingerprint=fp, kind=self.kind)
        except RecursionError:
            return Result(
                Status.QUARANTINED, reason="malformed-json: nested too deep", input_fingerprint=fp, kind=self.kind
            )
        except Exception as exc:  # fail closed on anything unexpected, without its message
            return Result(
                Status.QUARANTINED, reason=f"internal-error: {type(exc).__name__}", input_fingerprint=fp, kind=self.kind
            )
        renamed = path_has_identifiers(relpath, scrubber)
        if renamed:
            events.append(
                AuditEvent("<path>", "rename", "identity", "deid:path-identity", "", "input path held an identifier")
            )
        return Result(
            Status.OK,
            data=out,
            events=events,
            input_fingerprint=fp,
            kind=self.kind,
            name_hint=f"R-{fp[:20]}{Path(relpath).suffix.lower()}",
            renamed=renamed,
            mappings=scrubber.ops.mappings or [],
            counts={
                "elements": scrubber.counts["fields_changed"] + scrubber.counts["spans"],
                "records": scrubber.counts["records"],
            },
        )


def path_has_identifiers(relpath: str, scrubber: Scrubber) -> bool:
    """A folder or file name that holds a name, an ID or a phone (ZY20210001_张三/张三_1381...
    .csv): the output is then written under a keyed name, and the audit never names the input."""
    parts = [Path(p).stem if i == len(relpath.split("/")) - 1 else p for i, p in enumerate(relpath.split("/"))]
    text = " / ".join(p.replace("_", " ").replace("-", " ") for p in parts)
    return scrubber.rewritten(text) != text
