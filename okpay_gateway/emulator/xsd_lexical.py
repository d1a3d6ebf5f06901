"""Lexical forms of the XML Schema built-in types that requests carry.

zeep hands element text to Python's ``Decimal`` and ``int``, which read far
more than the schema allows (``1e0``, ``Infinity``, ``4242.0`` via Decimal,
non-ASCII digits such as ``٣``). A WCF service reads the schema's forms only,
so the emulator checks the text first (XML Schema 1.0 Part 2, 3.2.3, 3.2.2,
3.3.16-3.3.17): whitespace is collapsed, so surrounding spaces, tabs and line
breaks are allowed; digits are ASCII only; a sign is optional.
"""

from __future__ import annotations

import re

__all__ = ["is_valid"]

# Only XML's four whitespace characters; str.strip() would also remove NBSP etc.
XML_WHITESPACE = " \t\n\r"

_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_BOOLEAN = frozenset({"true", "false", "1", "0"})

_INTEGER_RANGES = {
    "long": (-(2**63), 2**63 - 1),
    "int": (-(2**31), 2**31 - 1),
    "short": (-(2**15), 2**15 - 1),
    "byte": (-(2**7), 2**7 - 1),
    "unsignedLong": (0, 2**64 - 1),
    "unsignedInt": (0, 2**32 - 1),
}

CHECKED_TYPES = frozenset({"decimal", "boolean", *_INTEGER_RANGES})


def is_valid(type_name: str, text: str | None) -> bool:
    """Is ``text`` a lexical form of the XSD built-in ``type_name``?

    Types outside :data:`CHECKED_TYPES` are not judged here (always valid).
    """
    if type_name not in CHECKED_TYPES:
        return True
    value = (text or "").strip(XML_WHITESPACE)
    if type_name == "decimal":
        return _DECIMAL.fullmatch(value) is not None
    if type_name == "boolean":
        return value in _BOOLEAN
    if _INTEGER.fullmatch(value) is None:
        return False
    low, high = _INTEGER_RANGES[type_name]
    return low <= int(value) <= high
