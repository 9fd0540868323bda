"""Text a person types: one rule for every door (API serializers, page forms, services, models).

Control characters (Unicode category Cc) break the accountant's files and hide in what people read; lone
surrogates cannot be stored; U+FFFE/U+FFFF are not characters. None of them is ever typed on purpose, so
text containing one is refused, naming the field, instead of being stored. Multi-line text (descriptions,
comments, reasons, guidelines) keeps its line breaks and tabs; single-line text (names, titles, sources,
references) also refuses line breaks, the Unicode line and paragraph separators (U+2028, U+2029), and the
bidirectional embedding, override and isolate controls (U+202A–U+202E, U+2066–U+2069) that can make a
name read as something else.

Every text also has a bound: SINGLE_LINE_MAX / MULTI_LINE_MAX unless a field says otherwise.
"""

import re

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

SINGLE_LINE_MAX = 200
MULTI_LINE_MAX = 5000

# Refused everywhere: C0 and C1 controls (Cc) but the line breaks and tab allowed below, surrogates (Cs),
# and the two noncharacters that XML (hence XLSX) forbids.
_MULTI_LINE_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# Single-line text also refuses tab, newline, carriage return, U+2028/U+2029 and the bidi controls.
_SINGLE_LINE_FORBIDDEN = re.compile(
    "[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_LINE_BREAKS = frozenset("\n\r\u2028\u2029")


def forbidden_character(value: str, *, multi_line: bool) -> str | None:
    """The first character `value` may not contain, or None."""
    found = (_MULTI_LINE_FORBIDDEN if multi_line else _SINGLE_LINE_FORBIDDEN).search(value)
    return found.group() if found else None


@deconstructible
class TextValidator:
    """Refuses non-strings, forbidden characters and, when `max_length` is given, longer text."""

    def __init__(self, *, multi_line: bool = False, max_length: int | None = None):
        self.multi_line = multi_line
        self.max_length = max_length

    def __call__(self, value) -> None:
        if not isinstance(value, str):
            raise ValidationError(_("Enter text."), code="invalid")
        char = forbidden_character(value, multi_line=self.multi_line)
        if char is not None:
            if char in _LINE_BREAKS:
                raise ValidationError(_("Write this on a single line."), code="multiple_lines")
            raise ValidationError(
                _("Remove the invisible control character %(char)s from this text."),
                code="control_character", params={"char": f"U+{ord(char):04X}"},
            )
        if self.max_length is not None:
            MaxLengthValidator(self.max_length)(value)

    def __eq__(self, other):
        return (isinstance(other, TextValidator) and self.multi_line == other.multi_line
                and self.max_length == other.max_length)


validate_single_line = TextValidator()
validate_multi_line = TextValidator(multi_line=True)


def single_line(max_length: int = SINGLE_LINE_MAX) -> TextValidator:
    return TextValidator(max_length=max_length)


def multi_line(max_length: int = MULTI_LINE_MAX) -> TextValidator:
    return TextValidator(multi_line=True, max_length=max_length)


class TextField:
    """What the API's and the pages' text fields share (mixed into each): one line or several, checked before the
    surrounding whitespace is stripped (so a trailing control character is refused too), bounded by default."""

    multi_line = False
    default_max_length = SINGLE_LINE_MAX

    def __init__(self, **kwargs):
        if kwargs.get("max_length") is None:
            kwargs["max_length"] = self.default_max_length
        super().__init__(**kwargs)

    def check_text(self, value: str) -> None:
        TextValidator(multi_line=self.multi_line)(value)


MAX_ID = 2**63 - 1


def parse_id(value) -> int | None:
    """An object id typed in a query string or posted by a form: ASCII digits that fit a database id, else None
    (`"²".isdigit()` is true and `int("9" * 5000)` raises, hence not `value.isdigit()` and `int(value)`)."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        number = int(value)
        return number if number <= MAX_ID else None
    return None
