"""One check for every section of a pipeline YAML: a mapping whose keys are all known (a
misspelt key is an error, never ignored: a pipeline must not believe it set something)."""

from __future__ import annotations

from collections.abc import Collection

from ..errors import PolicyError


def section(raw: object, name: str, keys: Collection[str], source: str) -> dict:
    """`raw` (the value under `name`) as a dict ({} when absent); PolicyError (exit 2) when
    it is not a mapping or holds a key not in `keys`."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise PolicyError(f"{source}: '{name}' must be a mapping with keys from {sorted(keys)}")
    unknown = set(raw) - set(keys)
    if unknown:
        raise PolicyError(f"{source}: unknown keys under {name}: {sorted(unknown)}; use {sorted(keys)}")
    return raw
