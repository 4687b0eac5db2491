"""Text that is safe to print on a terminal or to write as one line of a log.

File names are chosen by whoever made the files: one can hold an escape sequence that
rewrites the terminal, a newline that forges a log line, a bidi override that shows a
name backwards, or bytes that are not UTF-8. `deid audit show`, `deid check` and the
run summary print names through `display`.
"""

from __future__ import annotations


def display(text: str) -> str:
    """`text` with every character that is not printable (control characters, escape
    sequences, newlines, tabs, bidi overrides; undecodable bytes) as a \\x.. escape."""
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


def _escape(ch: str) -> str:
    n = ord(ch)
    if 0xDC80 <= n <= 0xDCFF:  # an undecodable byte, as os.fsdecode gives it (PEP 383)
        return f"\\x{n - 0xDC00:02x}"
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"
