"""Text every service stores: no control characters (NUL above all — PostgreSQL cannot store it
in text) and no lone surrogates (no database can store half a character). Tabs and line breaks
are allowed in free text, not in single-line fields. And Chinese phone numbers.

Identifiers and names (certificate numbers, USCCs, organisation and person names) are
``normalise``-d before they are compared or stored (SPEC §18): NFKC (full-width forms from Chinese
input methods become ASCII) and without format characters (Unicode category Cf: zero-width
spaces and joiners, bidi overrides, the BOM, soft hyphens), which are invisible, so that a
zero-width character cannot make one certificate look like two."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, StringConstraints

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_LINE_BREAKS = re.compile(r"[\r\n\t]")
_MOBILE = re.compile(r"^(\+?86)?1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^(\+?86-?)?0\d{2,3}-?\d{7,8}(-\d{1,6})?$")


# Unicode's format characters (category Cf, Unicode 14 as in Python 3.11), as one character class:
# a regex removes them in C where a per-character category() loop cost the bulk import seconds.
# tests/shared/test_validation.py checks it against unicodedata for every code point.
_FORMAT = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U00013438"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)


def normalise(value: str) -> str:
    """NFKC without format characters (category Cf); the one normal form of identifiers and names."""
    if value.isascii():  # no ASCII character is Cf, and NFKC leaves ASCII as it is
        return value
    return unicodedata.normalize("NFKC", _FORMAT.sub("", value))


def _normalise_input(value: object) -> object:
    return normalise(value).strip() if isinstance(value, str) else value


# Put before a str type's other constraints: ``Annotated[str, Normalised, StringConstraints(...)]``;
# it strips too, since pydantic then checks ``min_length`` before its own ``strip_whitespace``.
Normalised = BeforeValidator(_normalise_input)


def has_control(value: str) -> bool:
    return _CONTROL.search(value) is not None


def no_control(value: str | None) -> str | None:
    if value is not None and _CONTROL.search(value):
        raise ValueError("含有控制字符或无效字符 / contains control or invalid characters")
    return value


def single_line(value: str | None) -> str | None:
    if value is not None and _LINE_BREAKS.search(value):
        raise ValueError("不能包含换行或制表符 / must be a single line")
    return no_control(value)


def check_phone(value: str) -> str:
    """A mobile number (1[3-9] and 9 digits) or a landline with its area code."""
    compact = value.strip().replace(" ", "")
    dashed = re.sub(r"\s+", "-", value.strip())
    if _MOBILE.match(compact.replace("-", "")) or _LANDLINE.match(compact) or _LANDLINE.match(dashed):
        return value
    raise ValueError(
        "联系电话格式无效（应为手机号或带区号的固定电话） / "
        "invalid phone (a mobile number or a landline with area code)"
    )


# A reason, a comment, a note: free text of at most 2000 characters, never empty.
Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), AfterValidator(no_control)
]
# A name or a title: one line of at most 100 characters.
# One line of text, normalised; a field gives its length: ``Annotated[Line, StringConstraints(max_length=50)]``.
Line = Annotated[str, Normalised, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(single_line)]
Name = Annotated[Line, StringConstraints(max_length=100)]
