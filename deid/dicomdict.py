"""The DICOM data dictionary (PS3.6): tag -> (keyword, VR), without importing pydicom.

Bottom layer (no deid imports): the policy checks keywords with it when a pipeline is
loaded, the DICOM reader and walker name tags with it (deid.dicom.dictionary re-exports it).

The dictionary is pydicom's generated `_dicom_dict.py` (pure data). Importing
the `pydicom` package costs ~0.2 s (it pulls in numpy and the pixel
handlers), more than de-identifying a hundred headers, so the data module is
loaded on its own from pydicom's install folder. If that ever fails (a
zipped or frozen install), the ordinary `pydicom.datadict` import is used.
"""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from types import ModuleType


def _load() -> ModuleType:
    try:
        spec = importlib.util.find_spec("pydicom")
        assert spec is not None and spec.submodule_search_locations
        path = os.path.join(list(spec.submodule_search_locations)[0], "_dicom_dict.py")
        dspec = importlib.util.spec_from_file_location("_deid_pydicom_dict", path)
        assert dspec is not None and dspec.loader is not None
        mod = importlib.util.module_from_spec(dspec)
        dspec.loader.exec_module(mod)
        assert len(mod.DicomDictionary) > 4000
        return mod
    except Exception:  # pragma: no cover - unusual installs
        import pydicom._dicom_dict as mod

        return mod


_MOD = _load()
MAIN: dict[int, tuple] = _MOD.DicomDictionary
# Repeating groups ("60xx3000", "1010xxxx", ...) as (mask, value, entry).
_REPEATERS = tuple(
    (int("".join("0" if c == "x" else "F" for c in key), 16), int(key.replace("x", "0"), 16), entry)
    for key, entry in _MOD.RepeatersDictionary.items()
)
_KEYWORDS = {entry[4]: tag for tag, entry in MAIN.items() if entry[4]}


@lru_cache(maxsize=16384)
def entry(tag: int) -> tuple[str, str]:
    """(keyword, VR) for a standard tag, repeating groups included; ('', 'UN') when unknown
    or private. Ambiguous VRs keep pydicom's spelling, e.g. 'US or SS'."""
    e = MAIN.get(tag)
    if e is None and not (tag >> 16) & 1:
        for mask, value, rep in _REPEATERS:
            if tag & mask == value:
                e = rep
                break
    if e is None:
        return "", "UN"
    return e[4], e[0]


def tag_for_keyword(keyword: str) -> int | None:
    return _KEYWORDS.get(keyword)
