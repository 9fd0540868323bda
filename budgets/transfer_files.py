"""The files a batch of payouts goes out as: a SEPA credit transfer (pain.001.001.03) for the bank, or a CSV for
payroll and activity accounts. Pure: they are given what to write and write it."""

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sepaxml import SepaTransfer

from contrib_budget.text import neutralized

# The scheme's limits: a remittance text of 140 characters, identifiers of 35.
REMITTANCE_LENGTH = 140
IDENTIFIER_LENGTH = 35


@dataclass(frozen=True)
class Account:
    name: str
    iban: str
    bic: str = ""


@dataclass(frozen=True)
class Transfer:
    """One credit transfer: to one person, for the payouts its remittance names."""

    creditor: Account
    amount: Decimal
    end_to_end_id: str
    remittance: str


def sepa_credit_transfer(*, debtor: Account, transfers: list[Transfer], execution_date: date, message_id: str,
                         currency: str = "EUR") -> str:
    """A pain.001.001.03 document paying every transfer from `debtor`'s account, checked against the scheme's
    XSD before it is returned (sepaxml raises on an invalid one)."""
    config = {"name": debtor.name, "IBAN": debtor.iban, "batch": True, "currency": currency}
    if debtor.bic:
        config["BIC"] = debtor.bic
    document = SepaTransfer(config, schema="pain.001.001.03", clean=True)
    document.msg_id = message_id[:IDENTIFIER_LENGTH]
    for transfer in transfers:
        payment = {
            "name": transfer.creditor.name, "IBAN": transfer.creditor.iban,
            "amount": int(transfer.amount * 100), "execution_date": execution_date,
            "description": transfer.remittance[:REMITTANCE_LENGTH],
            "endtoend_id": transfer.end_to_end_id[:IDENTIFIER_LENGTH],
        }
        if transfer.creditor.bic:
            payment["BIC"] = transfer.creditor.bic
        document.add_payment(payment)
    return document.export(validate=True, pretty_print=True).decode()


@dataclass(frozen=True)
class PayrollLine:
    person: str
    reference: str
    period: str
    amount: Decimal
    budget: str
    payout: int


PAYROLL_COLUMNS = ["person", "reference", "period", "amount", "budget", "payout"]


def payroll_csv(lines: list[PayrollLine]) -> str:
    """One row per payout, for the payroll or the activity accounts: plain decimal amounts, the column names as the
    API's fields."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PAYROLL_COLUMNS)
    for line in lines:
        writer.writerow([neutralized(line.person), neutralized(line.reference), line.period, f"{line.amount:.2f}",
                         neutralized(line.budget), line.payout])
    return out.getvalue()
