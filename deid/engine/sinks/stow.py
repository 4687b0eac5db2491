"""The STOW-RS sink (`deid serve --stow URL`): each output POSTed to a DICOMweb
endpoint's `studies` resource as multipart/related; type="application/dicom" (PS3.18
10.5), the bytes deid wrote as they are. `put` returns once the origin server answered
2xx with no Failed SOP Sequence (0008,1198) for the instance.

200 (and 202 without a failure) is delivered; 409 or another 4xx, or a Failed SOP
Sequence, is a refusal for good (quarantined with the HTTP code and the Failure Reason
(0008,1197)); 5xx, a timeout or no connection is transient: tried again, then the peer is
down.
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
        why = "no-answer"
        for attempt in range(self.attempts):
            if attempt:
                pause(attempt - 1)
            req = urllib.request.Request(self.url + "/studies", data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=self.timeout, context=ctx) as rsp:
                    answer = rsp.read()
                    code = rsp.status
            except urllib.error.HTTPError as exc:
                if 400 <= exc.code < 500 and exc.code not in (408, 429):
                    raise Refused(f"http-{exc.code}{_failure(exc.read())}") from None
                why = f"http-{exc.code}"
                continue
            except (OSError, ssl.SSLError) as exc:  # URLError, refused, reset, timeout
                why = f"cannot connect ({type(exc).__name__})"
                continue
            failure = _failure(answer)
            if failure:
                raise Refused(f"http-{code}{failure}")
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
