"""Cells PostgreSQL formats itself, for the exports it writes with COPY (the journal's CSV, the FEC).

A million entries converted row by row in Python cost several times what COPY costs: these expressions give
each cell exactly the text the writers (`accounting.writers`) would give it, so the database can write the file.
The writers' rules stay the reference; tests/accounting/test_hostile_text.py and test_copied_exports.py hold both
to the same output. An empty cell is NULL: COPY quotes an empty string, as the writers never do.
"""

from django.db.models import Case, F, Func, TextField, Value, When
from django.db.models.functions import Cast, NullIf, Replace

from contrib_budget.money import ZERO

from ..writers import XLSX_AMOUNT_STYLE, XLSX_DATE_STYLE

# `contrib_budget.text.FORMULA_STARTS` as a regular expression (the minus last, out of any range).
FORMULA_START_RE = r"^([=+@\t\r-])"
# `writers.FEC_BLANKED_RE` (no NUL: PostgreSQL text never holds one).
FEC_BLANKED_RE = r"[|\x01-\x1f\x7f-\x9f\u2028\u2029]"


def _regexp_replace(expression, pattern: str, replacement: str, flags: str = "") -> Func:
    args = [expression, Value(pattern), Value(replacement)] + ([Value(flags)] if flags else [])
    return Func(*args, function="regexp_replace", output_field=TextField())


def csv_text(expression) -> Func:
    """A text cell of the CSV: a leading quote before what a spreadsheet would run as a formula."""
    return NullIf(_regexp_replace(expression, FORMULA_START_RE, "'\\1"), Value(""), output_field=TextField())


def fec_text(expression) -> Func:
    """A field of the FEC (`writers.fec_field`): double quotes become apostrophes, separators, line breaks and
    control characters spaces, runs of spaces one space, none left at either end."""
    quotes = Replace(expression, Value('"'), Value("'"), output_field=TextField())
    blanked = _regexp_replace(quotes, FEC_BLANKED_RE, " ", "g")
    shrunk = _regexp_replace(blanked, " {2,}", " ", "g")
    return NullIf(Func(shrunk, Value(" "), function="btrim", output_field=TextField()), Value(""),
                  output_field=TextField())


def fec_label(expression, fallback) -> Func:
    """`ledger.fec_label`: the field, or its fallback when nothing is left of it."""
    return Func(fec_text(expression), fec_text(fallback), function="COALESCE", output_field=TextField())


def local_day(expression, timezone: str, pattern: str) -> Func:
    """The instant's date in the collective's time zone, written by `to_char`'s pattern."""
    local = Func(Value(timezone), expression, function="timezone")
    return Func(local, Value(pattern), function="to_char", output_field=TextField())


def amount_text(expression, *, decimal_comma: bool) -> Func:
    """An amount with its two decimals, with a decimal comma if asked for."""
    text = Cast(expression, TextField())
    return Replace(text, Value("."), Value(","), output_field=TextField()) if decimal_comma else text


def debit(amount: str = "amount") -> Case:
    return Case(When(**{f"{amount}__gt": 0}, then=F(amount)), default=Value(ZERO))


def credit(amount: str = "amount") -> Case:
    return Case(When(**{f"{amount}__lt": 0}, then=-F(amount)), default=Value(ZERO))


# The XLSX: each row is one line of the sheet's XML, made by the database (see writers.XlsxWriter).
# `writers.xml_safe`: what XML cannot hold (\x01 and \x02 among them, which the COPY uses as quote and separator).
XML_FORBIDDEN_RE = r"[\x01-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"


def _joined(*parts) -> Func:
    """Parts joined with ||: NULL when one of them is NULL."""
    return Func(*parts, template="(%(expressions)s)", arg_joiner=" || ", output_field=TextField())


def xlsx_text(expression) -> Func:
    """A text cell as XlsxWriter makes it (`xml_safe`, `with_line_feeds`, `neutralized`), inline and escaped; its
    line feeds as character references, so that each row stays one line of the COPY."""
    safe = _regexp_replace(expression, XML_FORBIDDEN_RE, "", "g")
    line_feeds = _regexp_replace(safe, "\r\n?", "\n", "g")
    text = _regexp_replace(line_feeds, FORMULA_START_RE, "'\\1")
    for character, reference in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\n", "&#10;")):
        text = Replace(text, Value(character), Value(reference), output_field=TextField())
    cell = _joined(Value('<c t="inlineStr"><is><t xml:space="preserve">'), NullIf(text, Value(""),
                                                                                 output_field=TextField()),
                   Value("</t></is></c>"))
    return Func(cell, Value('<c t="inlineStr"/>'), function="COALESCE", output_field=TextField())


def xlsx_number(expression, style: int | None = None) -> Func:
    styled = f' s="{style}"' if style else ""
    return _joined(Value(f'<c{styled} t="n"><v>'), Cast(expression, TextField()), Value("</v></c>"))


def xlsx_day(expression, timezone: str) -> Func:
    """The instant's date in the collective's time zone, as a spreadsheet counts days (from 1899-12-30)."""
    local = Func(Func(Value(timezone), expression, function="timezone"), template="(%(expressions)s)::date")
    days = Func(local, template="(%(expressions)s - DATE '1899-12-30')")
    return xlsx_number(days, XLSX_DATE_STYLE)


def xlsx_amount(expression) -> Func:
    """An amount as openpyxl writes a Decimal ("%.16g": no trailing zeros), shown with two decimals by its style."""
    return xlsx_number(Func(expression, function="trim_scale"), XLSX_AMOUNT_STYLE)


def xlsx_row(cells: list) -> Func:
    return _joined(Value("<row>"), *cells, Value("</row>"))
