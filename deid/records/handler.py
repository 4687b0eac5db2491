"""RecordHandler: patient records by file type -> de-identified bytes, same format and
encoding, with one audit event per field or span. Pure, like DicomHandler."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..core import AuditEvent, Context, FileHandler, Result, Status
from ..errors import InputError

if TYPE_CHECKING:
    from .scrub import Scrubber

SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
            ".txt": "text", ".text": "text", ".hl7": "hl7"}
MAX_BYTES = 512 * 1024 * 1024


def record_kind(path: str) -> str | None:
    return SUFFIXES.get(Path(path).suffix.lower())


class RecordHandler(FileHandler):
    """Its readers, recognizers and operators are imported on the first record, not with
    the routing table: DICOM-only work never pays for them."""
    kind = "records"
    operators: type | None = None   # None: records.operators.Operators; `deid check` swaps in its own

    def sniff(self, path: str, head: bytes) -> bool:
        return record_kind(path) is not None

    def _process(self, data: bytes, fp: str, ctx: Context, relpath: str) -> Result:
        from .formats.delimited import scrub_delimited
        from .formats.hl7v2 import scrub_hl7
        from .formats.jsonish import scrub_json, scrub_jsonl
        from .formats.text import scrub_text_file
        from .operators import Operators
        from .scrub import Scrubber

        kind = record_kind(relpath)
        scrubber = Scrubber(ctx.pipeline.records, ctx.pseudo, ctx.pipeline.dicom.date_shift_days, "file:" + fp,
                            self.operators or Operators)
        if ctx.collect_mappings:
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
            return Result(Status.QUARANTINED, reason="malformed-json: nested too deep", input_fingerprint=fp,
                          kind=self.kind)
        except Exception as exc:  # fail closed on anything unexpected, without its message
            return Result(Status.QUARANTINED, reason=f"internal-error: {type(exc).__name__}", input_fingerprint=fp,
                          kind=self.kind)
        renamed = path_has_identifiers(relpath, scrubber)
        if renamed:
            events.append(AuditEvent("<path>", "rename", "identity", "deid:path-identity", "",
                                     "input path held an identifier"))
        return Result(Status.OK, data=out, events=events, input_fingerprint=fp, kind=self.kind,
                      name_hint=f"R-{fp[:20]}{Path(relpath).suffix.lower()}", renamed=renamed,
                      mappings=scrubber.ops.mappings or [],
                      counts={"elements": scrubber.counts["fields_changed"] + scrubber.counts["spans"],
                              "records": scrubber.counts["records"]})


def path_has_identifiers(relpath: str, scrubber: Scrubber) -> bool:
    """A folder or file name that holds a name, an ID or a phone (ZY20210001_张三/张三_1381...
    .csv): the output is then written under a keyed name, and the audit never names the input."""
    parts = [Path(p).stem if i == len(relpath.split("/")) - 1 else p for i, p in enumerate(relpath.split("/"))]
    text = " / ".join(p.replace("_", " ").replace("-", " ") for p in parts)
    return scrubber.rewritten(text) != text
