"""The STOW-RS sink (`deid serve --stow URL`): each output POSTed to a DICOMweb
endpoint's `studies` resource as multipart/related; type="application/dicom" (PS3.18
10.5), the bytes deid wrote as they are. `put` returns once the origin server answered
2xx with no Failed SOP Sequence (0008,1198) for the instance.

Delivered only when the answer is 2xx and its Referenced SOP Sequence (0008,1199) names
this instance's SOP Instance UID: a 2xx with an empty or other body (a login page, a
proxy) proves nothing. Redirects are never followed (urllib would turn the POST into a
GET without the body, and its 200 would read as delivered). 409 or another 4xx, or a
Failed SOP Sequence, is a refusal for good (quarantined with the HTTP code and the Failure
Reason (0008,1197)); 401/403/404/405/415 (credentials, a wrong URL: configuration), 3xx,
5xx, an unconfirmed 2xx, a timeout or no connection are transient: tried again, then the
peer is down and the instance stays in the spool.
"""

from __future__ import annotations

import json
import secrets
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ...errors import DeidError
from . import DestinationDown, Refused
from .peer import BACKOFF, PeerSink, pause

FAILED_SOP_SEQUENCE = "00081198"
FAILURE_REASON = "00081197"
REFERENCED_SOP_SEQUENCE = "00081199"
REFERENCED_SOP_INSTANCE = "00081155"
# the endpoint or its access is wrong, not this instance: the peer counts as down
CONFIGURATION = frozenset({401, 403, 404, 405, 415})


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx comes back as an HTTPError


def _sop_instance_uid(data: bytes) -> str:
    """The output's SOP Instance UID (what the answer must name)."""
    import io

    import pydicom

    ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True, specific_tags=["SOPInstanceUID"], force=True)
    return str(ds.get("SOPInstanceUID", "")).strip()


def check_url(url: str) -> str:
    """The STOW-RS base (…/dicom-web): http or https, no credentials in it."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeidError("--stow must be an http:// or https:// DICOMweb base URL, e.g. http://127.0.0.1:8042/dicom-web")
    if parts.username or parts.password:
        raise DeidError("--stow: put no credentials in the URL (they would show in logs and process lists)")
    return url.rstrip("/")


class StowSink(PeerSink):
    def __init__(
        self,
        url: str,
        quarantine_dir: Path,
        ca: Path | None = None,
        timeout: float = 30.0,
        attempts: int = len(BACKOFF) + 1,
    ):
        super().__init__(quarantine_dir)
        self.url, self.ca, self.timeout, self.attempts = check_url(url), ca, timeout, attempts

    @property
    def where(self) -> str:
        return self.url

    def put(self, rel: str, data: bytes) -> str:
        boundary = "deid-" + secrets.token_hex(16)
        body = b"".join(
            [
                f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode("ascii"),
                data,
                f"\r\n--{boundary}--\r\n".encode("ascii"),
            ]
        )
        headers = {
            "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
            "Accept": "application/dicom+json",
        }
        ctx = ssl.create_default_context(cafile=str(self.ca)) if self.ca is not None else None
        opener = urllib.request.build_opener(_NoRedirect, urllib.request.HTTPSHandler(context=ctx))
        uid = _sop_instance_uid(data)
        why = "no-answer"
        for attempt in range(self.attempts):
            if attempt:
                pause(attempt - 1)
            req = urllib.request.Request(self.url + "/studies", data=body, headers=headers, method="POST")
            try:
                with opener.open(req, timeout=self.timeout) as rsp:
                    answer = rsp.read()
                    code = rsp.status
            except urllib.error.HTTPError as exc:
                if 400 <= exc.code < 500 and exc.code not in (408, 429) and exc.code not in CONFIGURATION:
                    raise Refused(f"http-{exc.code}{_failure(exc.read())}") from None
                why = f"http-{exc.code}"
                continue
            except (OSError, ssl.SSLError) as exc:  # URLError, refused, reset, timeout
                why = f"cannot connect ({type(exc).__name__})"
                continue
            failure = _failure(answer)
            if failure:
                raise Refused(f"http-{code}{failure}")
            if not (200 <= code < 300 and uid and uid in _stored(answer)):
                why = f"http-{code} without this instance in its Referenced SOP Sequence"
                continue
            return self.url
        raise DestinationDown(f"stow: {why} after {self.attempts} attempts")


def _failure(answer: bytes) -> str:
    """':0xNNNN' when the STOW-RS response lists the instance in its Failed SOP Sequence."""
    try:
        doc: Any = json.loads(answer or b"{}")
    except ValueError:
        return ""
    if isinstance(doc, list):
        doc = doc[0] if doc else {}
    failed = (doc.get(FAILED_SOP_SEQUENCE) or {}).get("Value") if isinstance(doc, dict) else None
    if not failed:
        return ""
    reason = ((failed[0] or {}).get(FAILURE_REASON) or {}).get("Value") or [0]
    return f":0x{int(reason[0]):04X}"


def _stored(answer: bytes) -> set[str]:
    """The SOP Instance UIDs a STOW-RS response says it stored (Referenced SOP Sequence)."""
    try:
        doc: Any = json.loads(answer or b"{}")
    except ValueError:
        return set()
    docs = doc if isinstance(doc, list) else [doc]
    out: set[str] = set()
    for d in docs:
        items = ((d or {}).get(REFERENCED_SOP_SEQUENCE) or {}).get("Value") or [] if isinstance(d, dict) else []
        for item in items:
            uids = (
                ((item or {}).get(REFERENCED_SOP_INSTANCE) or {}).get("Value") or [] if isinstance(item, dict) else []
            )
            out.update(str(u).strip() for u in uids)
    return out
