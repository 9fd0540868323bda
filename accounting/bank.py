"""Mark payouts paid from the bank's CSV of transfers, matched on the transfer reference.

Each person is paid once per period by one transfer whose reference contains
`CB-<period id>-<person id>` (the payouts export gives it), or once per payment batch by the transfer its
SEPA file made, whose reference is `CB-B<batch id>-<person id>`. Only outgoing
transfers count: a negative amount in an amount column, or any amount in a
debit column (a credit, such as a returned transfer, never marks anything paid).
A line matches when the reference names payouts not yet paid and its amount
equals their total; those payouts are then marked paid with the line's date
and reference.

Amounts are read with one explicit convention, so "1 234,56", "1.234,56" and
"1,234.56" all mean 1234.56: spaces and apostrophes group thousands; when both
"," and "." appear the last one is the decimal separator; when only one of them
appears it is the decimal separator unless it repeats or is followed by exactly
three digits (then it groups thousands). More than two decimals is refused.
"""

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db.models import Sum
from django.utils.translation import gettext as _

from budgets.models import NET_AMOUNT, Payout
from budgets.payouts import payouts_mark_paid
from contrib_budget.errors import DomainError
from contrib_budget.money import has_at_most_two_decimals

from .permissions import ACCOUNTANT_ONLY

REFERENCE = re.compile(r"CB-(\d+)-(\d+)", re.IGNORECASE)
# A transfer of a payment batch (budgets.batches): the batch, then the person.
BATCH_REFERENCE = re.compile(r"CB-B(\d+)-(\d+)", re.IGNORECASE)
COLUMNS = {
    "date": {"date", "date operation", "date de l'operation", "date valeur", "booking date"},
    "amount": {"amount", "montant", "montant (eur)", "debit", "debit (eur)"},
    "reference": {"reference", "libelle", "label", "description", "communication", "motif"},
}


DEBIT_COLUMNS = {"debit", "debit (eur)"}
MINUS_SIGNS = ("-", "\u2212")
GROUPING = str.maketrans("", "", " \u00a0\u202f'\u2019")


class AmountError(ValueError):
    """An amount that cannot be read, or one with more than two decimals."""


@dataclass
class BankLine:
    number: int
    day: date
    amount: Decimal
    reference: str
    outgoing: bool = True


def plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _digits(group: str) -> str:
    if not group.isdigit() or not group.isascii():
        raise AmountError(group)
    return group


def read_amount(text: str) -> Decimal:
    """A signed amount, read with the module's convention (see above)."""
    cleaned = text.translate(GROUPING)
    negative = cleaned.startswith(MINUS_SIGNS) or cleaned.endswith(MINUS_SIGNS)
    cleaned = cleaned.strip("+-\u2212")
    separators = [c for c in cleaned if c in ".,"]
    decimal_mark = None
    if separators:
        last = separators[-1]
        tail = cleaned.rsplit(last, 1)[1]
        if len(set(separators)) == 2 or (separators.count(last) == 1 and len(tail) != 3):
            decimal_mark = last
    whole, fraction = cleaned.rsplit(decimal_mark, 1) if decimal_mark else (cleaned, "")
    groups = whole.split(separators[0]) if separators and separators[0] != decimal_mark else [whole]
    if len(groups) > 1 and (not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:])):
        raise AmountError(text)
    number = "".join(_digits(g) for g in groups) + ("." + _digits(fraction) if decimal_mark else "")
    value = Decimal(number)
    if not has_at_most_two_decimals(value):
        raise AmountError(text)
    return -value if negative else value


def read_day(text: str) -> date:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    raise ValueError(text)


def csv_rows(text: str):
    """Rows of the CSV, in the dialect the Sniffer finds; when it cannot tell (one column, lines of unequal
    widths), split on the separator the first line uses most: a file without the needed columns is refused
    below, naming them."""
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        first_line = text.lstrip().split("\n", 1)[0]
        return csv.reader(io.StringIO(text), delimiter=max(",;\t", key=first_line.count))
    return csv.reader(io.StringIO(text), dialect)


def bank_lines(text: str) -> list[BankLine]:
    """The lines of a bank CSV (`,` or `;`), with French or English column names; amounts as transferred
    (positive), `outgoing` telling a transfer to someone from money coming in."""
    try:
        return _bank_lines(csv_rows(text))
    except csv.Error:
        # A quoted field longer than the csv module allows, or a malformed quote: not a bank file it can read.
        raise DomainError(_("The bank file cannot be read as CSV."), "bank_csv_unreadable",
                          fields={"file": [_("The bank file cannot be read as CSV.")]}) from None


def _bank_lines(reader) -> list[BankLine]:
    header = [plain(name) for name in next(reader, [])]
    positions = {}
    for key, aliases in COLUMNS.items():
        found = [index for index, name in enumerate(header) if name in aliases]
        if not found:
            raise DomainError(_("The bank file needs a %(column)s column.") % {"column": key}, "bank_csv_columns",
                              fields={"file": [_("Columns found: %(names)s.") % {"names": ", ".join(header)}]})
        positions[key] = found[0]
    debit_column = header[positions["amount"]] in DEBIT_COLUMNS
    lines = []
    for number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            day, cell = read_day(row[positions["date"]]), row[positions["amount"]].strip()
            reference = row[positions["reference"]].strip()
            if debit_column and not cell:
                lines.append(BankLine(number=number, day=day, amount=Decimal("0.00"), reference=reference,
                                      outgoing=False))
                continue
            amount = read_amount(cell)
        except AmountError:
            raise DomainError(
                _("Line %(number)s of the bank file: the amount %(amount)s cannot be read (at most two decimals, "
                  "e.g. -1 234,56 or -1,234.56).") % {"number": number, "amount": row[positions["amount"]]},
                "bank_csv_amount", fields={"file": [_("Line %(number)s.") % {"number": number}]}) from None
        except (ValueError, InvalidOperation, IndexError):
            raise DomainError(_("Line %(number)s of the bank file cannot be read.") % {"number": number},
                              "bank_csv_line", fields={"file": [_("Line %(number)s.") % {"number": number}]}) from None
        outgoing = debit_column or amount < 0
        lines.append(BankLine(number=number, day=day, amount=abs(amount), reference=reference, outgoing=outgoing))
    return lines


def _match(collective, line: BankLine, actor) -> dict:
    result = {"line": line.number, "reference": line.reference, "amount": str(line.amount), "payouts": []}
    if not line.outgoing:
        return {**result, "status": "incoming"}
    found = BATCH_REFERENCE.search(line.reference) or REFERENCE.search(line.reference)
    if not found:
        return {**result, "status": "unmatched"}
    payouts = Payout.objects.of(collective).filter(person_id=int(found.group(2)), granted__gt=0)
    if found.re is BATCH_REFERENCE:
        payouts = payouts.filter(batch_id=int(found.group(1)))
    else:
        payouts = payouts.filter(period_id=int(found.group(1)))
    unpaid = payouts.filter(paid_on__isnull=True)
    if not unpaid.exists():
        return {**result, "status": "already_paid" if payouts.exists() else "unknown_reference"}
    total = unpaid.aggregate(total=Sum(NET_AMOUNT))["total"]
    if total != line.amount:
        return {**result, "status": "amount_mismatch", "expected": str(total)}
    ids = list(unpaid.values_list("pk", flat=True))
    try:
        payouts_mark_paid(collective=collective, payout_ids=ids, actor=actor, paid_on=line.day,
                          reference=found.group(0).upper())
    except DomainError as error:
        return {**result, "status": error.code, "detail": error.message}
    return {**result, "status": "paid", "payouts": ids}


def payouts_mark_paid_from_bank(*, collective, actor, text: str) -> list[dict]:
    """Match every transfer of the bank file; mark matched payouts paid. One result per line."""
    ACCOUNTANT_ONLY.require(collective=collective, actor=actor)
    return [_match(collective, line, actor) for line in bank_lines(text)]
