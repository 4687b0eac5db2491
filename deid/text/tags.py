"""The tags deid writes in place of a value ([姓名] in Chinese text, [PHONE] in other
text; labels from deid.categories), as a pattern find() uses to tell deid's own output
from an identifier: a rewritten text must pass its own verify."""

from __future__ import annotations

import re
from functools import lru_cache

from .. import categories


@lru_cache(maxsize=1)
def own_tag() -> re.Pattern:
    """[学校], [PHONE], [PATIENT_NAME] ... of the listed categories (only these: a
    bracketed surname in a note is not a tag)."""
    words = {c.label(zh)[1:-1] for c in categories.CATEGORIES for zh in (True, False)}
    return re.compile(r"\[(?:" + "|".join(sorted(map(re.escape, words), key=len, reverse=True)) + r")\]")
