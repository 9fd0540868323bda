"""Mark payouts paid from the bank's CSV of transfers, matched on the transfer reference.

Each person is paid once per period by one transfer whose reference contains
`CB-<period id>-<person id>` (the payouts export gives it). A line matches when
the reference names payouts not yet paid and its amount equals their total;
those payouts are then marked paid with the line's date and reference.
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

from budgets.payouts import payouts_mark_paid
from contrib_budget.errors import DomainError
from contributions.models import Payout

from .services import require_accountant

REFERENCE = re.compile(r"CB-(\d+)-(\d+)", re.IGNORECASE)
COLUMNS = {
    "date": {"date", "date operation", "date de l'operation", "date valeur", "booking date"},
    "amount": {"amount", "montant", "debit", "montant (eur)"},
    "reference": {"reference", "libelle", "label", "description", "communication", "motif"},
}


@dataclass
class BankLine:
    number: int
    day: date
    amount: Decimal
    reference: str


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _amount(text: str) -> Decimal:
    cleaned = text.replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if "," in cleaned:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    return abs(Decimal(cleaned))


def _day(text: str) -> date:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    raise ValueError(text)


def bank_lines(text: str) -> list[BankLine]:
    """The transfers of a bank CSV (`,` or `;`), with French or English column names."""
    dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    reader = csv.reader(io.StringIO(text), dialect)
    header = [_plain(name) for name in next(reader, [])]
    positions = {}
    for key, aliases in COLUMNS.items():
        found = [index for index, name in enumerate(header) if name in aliases]
        if not found:
            raise DomainError(_("The bank file needs a %(column)s column.") % {"column": key}, "bank_csv_columns",
                              fields={"file": [_("Columns found: %(names)s.") % {"names": ", ".join(header)}]})
        positions[key] = found[0]
    lines = []
    for number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            lines.append(BankLine(number=number, day=_day(row[positions["date"]]),
                                  amount=_amount(row[positions["amount"]]), reference=row[positions["reference"]].strip()))
        except (ValueError, InvalidOperation, IndexError):
            raise DomainError(_("Line %(number)s of the bank file cannot be read.") % {"number": number},
                              "bank_csv_line", fields={"file": [_("Line %(number)s.") % {"number": number}]}) from None
    return lines


def _match(collective, line: BankLine, actor) -> dict:
    result = {"line": line.number, "reference": line.reference, "amount": str(line.amount), "payouts": []}
    found = REFERENCE.search(line.reference)
    if not found:
        return {**result, "status": "unmatched"}
    period_id, person_id = int(found.group(1)), int(found.group(2))
    payouts = Payout.objects.of(collective).filter(period_id=period_id, person_id=person_id)
    unpaid = payouts.filter(paid_on__isnull=True)
    if not unpaid.exists():
        return {**result, "status": "already_paid" if payouts.exists() else "unknown_reference"}
    total = unpaid.aggregate(total=Sum("granted"))["total"]
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
    require_accountant(collective, actor)
    return [_match(collective, line, actor) for line in bank_lines(text)]
