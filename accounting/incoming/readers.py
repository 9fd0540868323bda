"""One reader per kind of file of incoming money, each a column mapping over the bank reader's CSV dialect, amount
and date conventions (accounting/bank.py).

A reader yields only money that came in: a debit, a negative or zero amount (a refund, a fee, an expense) and a
payment the platform reports as refused or refunded are left out. Each line keeps its number in the file (the
header is line 1), so a person can find it. The currency is the file's when it says one (a column, or a code beside
the amount); a line in another currency than the collective's is kept and refused with a message by the preview,
never dropped unseen.
"""

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from contrib_budget import dates
from contrib_budget.errors import DomainError

from .. import bank
from ..models import ImportFormat

MAX_LINES = 5000
# Amounts may carry their currency: "25,00 €", "EUR 25.00", "$12.50".
CURRENCY_SIGNS = {"€": "EUR", "$": "USD", "£": "GBP"}
CURRENCY_CODE = re.compile(r"\b([A-Z]{3})\b")
REFUSED_STATUSES = {"refuse", "rembourse", "annule", "refused", "refunded", "cancelled", "canceled", "failed",
                    "error", "erreur", "echoue"}
TRUE_WORDS = {"true", "1", "yes", "oui", "vrai"}


@dataclass(frozen=True)
class IncomingLine:
    number: int
    day: date
    amount: Decimal
    payer: str
    reference: str
    external_id: str
    currency: str  # "" when the file does not say


@dataclass(frozen=True)
class Mapping:
    """Which header names (plain: lower case, no accents) hold each field, in order of preference."""

    columns: dict[str, tuple[str, ...]]
    required: tuple[tuple[str, ...], ...]  # each tuple: at least one of these fields must be found
    currency: str = ""  # the one currency of a platform that only knows one


BANK_AMOUNTS = tuple(sorted(bank.COLUMNS["amount"] - bank.DEBIT_COLUMNS))
MAPPINGS: dict[str, Mapping] = {
    ImportFormat.BANK: Mapping(
        columns={
            "date": tuple(sorted(bank.COLUMNS["date"])),
            "credit": ("credit", "credit (eur)"),
            "amount": BANK_AMOUNTS,
            "reference": ("libelle", "label", "description", "reference", "communication", "motif"),
            "payer": ("emetteur", "tiers", "payer", "counterparty", "donneur d'ordre", "nom du tiers"),
            "currency": ("devise", "currency"),
        },
        required=(("date",), ("credit", "amount")),
    ),
    ImportFormat.HELLOASSO: Mapping(
        columns={
            "date": ("date", "date du paiement", "date de la commande", "date du don"),
            "amount": ("montant", "montant total", "montant du paiement", "montant du don"),
            "first_name": ("prenom", "prenom payeur", "prenom du payeur"),
            "last_name": ("nom", "nom payeur", "nom du payeur"),
            "reference": ("formulaire", "campagne", "nom de la campagne"),
            "external_id": ("reference", "reference commande", "numero", "numero de paiement", "numero de commande"),
            "status": ("statut", "statut du paiement", "statut de la commande"),
        },
        required=(("date",), ("amount",), ("last_name", "first_name")),
        currency="EUR",
    ),
    ImportFormat.LIBERAPAY: Mapping(
        columns={
            "date": ("date", "timestamp", "ctime"),
            "amount": ("amount", "montant"),
            "currency": ("currency", "devise"),
            "payer": ("donor", "donor_name", "tipper", "from", "payer"),
            "reference": ("team", "recipient", "context"),
            "external_id": ("id", "transfer_id", "payin_id"),
            "status": ("status",),
        },
        required=(("date",), ("amount",), ("currency",), ("payer",)),
    ),
    ImportFormat.OPENCOLLECTIVE: Mapping(
        columns={
            "date": ("datetime", "date", "createdat", "created at"),
            "amount": ("netamount", "net amount", "amount"),
            "currency": ("currency", "hostcurrency"),
            "payer": ("fromaccount", "from name", "from", "oppositeaccountname", "fromaccountname"),
            "reference": ("description",),
            "external_id": ("transactionid", "id", "transaction id", "shortid", "uuid"),
            "is_refund": ("isrefund", "is refund"),
        },
        required=(("date",), ("amount",), ("currency",), ("payer",)),
    ),
}


def _refused(field: str, message: str, code: str) -> DomainError:
    return DomainError(message, code, fields={field: [message]})


def _positions(header: list[str], mapping: Mapping) -> dict[str, int]:
    positions = {}
    for key, aliases in mapping.columns.items():
        for alias in aliases:
            if alias in header:
                positions[key] = header.index(alias)
                break
    for group in mapping.required:
        if not any(key in positions for key in group):
            names = {"column": " / ".join(mapping.columns[key][0] for key in group), "names": ", ".join(header)}
            raise _refused("file", _("The file needs a %(column)s column; columns found: %(names)s.") % names,
                           "import_columns")
    return positions


def _day(text: str) -> date:
    """A date, or a date and time ("2025-03-15T10:23:45Z", "15/03/2025 14:32"): the day is kept."""
    day = bank.read_day(re.split(r"[T ]", text.strip(), maxsplit=1)[0])
    if not dates.in_window(day):
        raise ValueError(text)
    return day


def _amount_and_currency(text: str) -> tuple[Decimal, str]:
    currency = ""
    for sign, code in CURRENCY_SIGNS.items():
        if sign in text:
            text, currency = text.replace(sign, ""), code
    if found := CURRENCY_CODE.search(text):
        text, currency = CURRENCY_CODE.sub("", text), found.group(1)
    return bank.read_amount(text.strip()), currency


def _cell(row: list[str], positions: dict[str, int], key: str) -> str:
    """The cell's text on one line: a payer's name becomes a funding's source, which allows no control character."""
    index = positions.get(key)
    text = row[index] if index is not None and index < len(row) else ""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def _line(number: int, row: list[str], positions: dict[str, int], mapping: Mapping) -> IncomingLine | None:
    """The line's money coming in, or None when the row is not money coming in."""
    if bank.plain(_cell(row, positions, "status")) in REFUSED_STATUSES:
        return None
    if bank.plain(_cell(row, positions, "is_refund")) in TRUE_WORDS:
        return None
    day = _day(row[positions["date"]])
    amount_text = _cell(row, positions, "credit") or _cell(row, positions, "amount")
    if not amount_text:
        if "credit" in positions:
            return None  # a bank line with only a debit
        raise ValueError("no amount")
    amount, currency = _amount_and_currency(amount_text)
    if amount <= 0:
        return None
    payer = _cell(row, positions, "payer") or " ".join(
        part for part in (_cell(row, positions, "first_name"), _cell(row, positions, "last_name")) if part)
    return IncomingLine(
        number=number, day=day, amount=amount, payer=payer[:150],
        reference=_cell(row, positions, "reference")[:255], external_id=_cell(row, positions, "external_id")[:100],
        currency=(_cell(row, positions, "currency") or currency or mapping.currency).upper(),
    )


def _lines(rows: Iterator[list[str]], mapping: Mapping) -> list[IncomingLine]:
    positions = _positions([bank.plain(name) for name in next(rows, [])], mapping)
    lines = []
    for number, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            line = _line(number, row, positions, mapping)
        except bank.AmountError:
            raise _refused("file", _("Line %(number)s: the amount cannot be read (at most two decimals, e.g. "
                                     "1 234,56 or 1,234.56).") % {"number": number}, "import_amount") from None
        except (ValueError, InvalidOperation, IndexError):
            raise _refused("file", _("Line %(number)s cannot be read: check its date and amount.")
                           % {"number": number}, "import_line") from None
        if line is not None:
            lines.append(line)
        if len(lines) > MAX_LINES:
            raise _refused("file", _("The file has more than %(count)s lines of incoming money: split it.")
                           % {"count": MAX_LINES}, "import_too_long")
    return lines


def incoming_lines(*, fmt: str, text: str) -> list[IncomingLine]:
    """The money coming in that a file of the format `fmt` lists; a file that cannot be read is refused."""
    mapping = MAPPINGS.get(fmt)
    if mapping is None:
        raise _refused("format", _("Unknown kind of file: choose one of the listed formats."), "import_format")
    try:
        return _lines(bank.csv_rows(text), mapping)
    except csv.Error:
        raise _refused("file", _("The file cannot be read as CSV."), "import_unreadable") from None
