"""Numbers as every output writes them: fixed decimals, no sign on a value that rounds to
zero ("-0.0" reads as a direction or a flag), a chosen mark where there is no value."""

from __future__ import annotations


def fixed(x: float | None, digits: int = 0, missing: str = "") -> str:
    """``x`` with ``digits`` decimals; ``missing`` for None."""
    if x is None:
        return missing
    text = f"{x:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text
