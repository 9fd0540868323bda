"""Text a person types: one rule for every door (API serializers, page forms, services, models).

Control characters (Unicode category Cc) break the accountant's files and hide in what people read; lone
surrogates cannot be stored; U+FFFE/U+FFFF are not characters. Invisible formatting characters (category Cf)
that no text needs hide in names and comments too: a byte order mark or a zero-width space makes two names
that read the same differ (a search, a duplicate check, a bank reference miss it), and the bidirectional
embedding, override and isolate controls (U+202A–U+202E, U+2066–U+2069) make text read as something else
("Trojan source"). None of them is ever typed on purpose, so text containing one is refused, naming the
field, instead of being stored. The format characters that real text does need are kept: see
`_INVISIBLE_FORMATTING`. Multi-line text (descriptions, comments, reasons, guidelines) keeps its line breaks
and tabs; single-line text (names, titles, sources, references) also refuses line breaks and the Unicode line
and paragraph separators (U+2028, U+2029).

Every text also has a bound: SINGLE_LINE_MAX / MULTI_LINE_MAX unless a field says otherwise.
"""

import re

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

SINGLE_LINE_MAX = 200
MULTI_LINE_MAX = 5000

# Invisible formatting characters (Unicode category Cf) refused everywhere, because nothing a person writes
# needs them: zero-width space U+200B, word joiner and invisible math operators U+2060–U+2064, byte order mark
# (zero-width no-break space) U+FEFF, the bidi embeddings and overrides U+202A–U+202E and isolates U+2066–U+2069,
# the deprecated format characters U+206A–U+206F, interlinear annotation U+FFF9–U+FFFB, the language tag U+E0001,
# and the tag characters U+E0020–U+E007F (invisible ASCII) outside an emoji flag (see _EMOJI_TAG_SEQUENCE).
# Kept, because real text needs them: zero-width non-joiner and joiner U+200C/U+200D (Persian, Indic scripts,
# emoji sequences: a family is woman, ZWJ, woman, ZWJ, girl), the left-to-right, right-to-left and Arabic
# letter marks U+200E, U+200F, U+061C (they set the direction of neutral characters in Arabic and Hebrew text
# without overriding it), the soft hyphen U+00AD (pasted from word processors), Mongolian's vowel separator
# U+180E, the Arabic, Syriac and Kaithi number and verse signs, and the format controls of Egyptian
# hieroglyphs, Duployan shorthand and music notation.
_INVISIBLE_FORMATTING = ("\u200b\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
                         "\U000e0001\U000e0020-\U000e007f")
# An emoji flag of a region (England, Scotland, Wales): a black flag, tag letters, a cancel tag.
_EMOJI_TAG_SEQUENCE = re.compile("\U0001f3f4[\U000e0020-\U000e007e]{1,32}\U000e007f")
# Refused everywhere: C0 and C1 controls (Cc) but the line breaks and tab allowed below, surrogates (Cs),
# the two noncharacters that XML (hence XLSX) forbids, and the invisible formatting characters above.
_MULTI_LINE_FORBIDDEN = re.compile(
    f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff{_INVISIBLE_FORMATTING}]")
# Single-line text also refuses tab, newline, carriage return and U+2028/U+2029.
_SINGLE_LINE_FORBIDDEN = re.compile(
    f"[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u2028\u2029{_INVISIBLE_FORMATTING}]")
_LINE_BREAKS = frozenset("\n\r\u2028\u2029")
_TAGS = re.compile("[\U000e0020-\U000e007f]")


def forbidden_character(value: str, *, multi_line: bool) -> str | None:
    """The first character `value` may not contain, or None."""
    if _TAGS.search(value):  # the tag characters of emoji flags are fine there, and only there
        value = _EMOJI_TAG_SEQUENCE.sub("", value)
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


# A text cell starting with one of these runs as a formula in a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralized(text: str) -> str:
    """User text made inert in a spreadsheet: a leading quote keeps `=HYPERLINK(...)` a mere text."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text
