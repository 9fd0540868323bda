"""Exporters over the ledger alone: the journal, the trial balance and the FEC.

Debit and credit follow the convention of `accounting.chart`: a
positive entry (money into the account) is a debit, a negative one a credit.
"""

from decimal import Decimal
from typing import Iterator

from django.db.models import Case, F, Func, Q, Sum, TextField, Value, When, Window
from django.db.models.functions import Cast, Coalesce, Concat, DenseRank, NullIf

from budgets.models import Entry
from contrib_budget.money import ZERO

from ..chart import chart_of
from ..models import AccountingSettings
from ..scopes import ledger_scope
from ..selectors import accounting_settings_of
from ..writers import fec_field
from . import in_sql
from .base import CHUNK_SIZE, Exporter, register

# JournalCode is mandatory in the FEC: a code with nothing printable in it falls back to the default one.
DEFAULT_JOURNAL_CODE = AccountingSettings._meta.get_field("journal_code").default


def debit_credit(amount: Decimal) -> tuple[Decimal, Decimal]:
    return (amount, ZERO) if amount > 0 else (ZERO, -amount)


class LedgerExporter(Exporter):
    """Entries of the collective's ledger in the range, optionally of a budget or a round, or of some account kinds."""

    def scoped_entries(self):
        entries = Entry.objects.of(self.collective).filter(
            ledger_scope(self.collective, budget_id=self.filter_id("budget"), round_id=self.filter_id("round"))
        )
        kinds = self.params.get("account_kinds")
        if kinds:
            entries = entries.filter(account__kind__in=kinds)
        return entries

    def entries(self):
        return self.scoped_entries().filter(**self.range.filter_kwargs("transaction__created_at"))

    def copied(self, cells: list) -> tuple[str, tuple]:
        """The SELECT of `cells` over the entries, in the order they were posted, for COPY."""
        names = [f"cell_{index}" for index in range(len(cells))]
        query = (self.entries().annotate(**dict(zip(names, cells, strict=True)))
                 .order_by("transaction__created_at", "transaction_id", "id").values_list(*names))
        return query.query.sql_with_params()

    def count(self) -> int:
        return self.entries().count()


@register
class JournalExporter(LedgerExporter):
    """Every ledger entry of the range, one row each, in the order they were posted."""

    kind = "journal"
    COLUMNS = ["transaction_id", "date", "type", "account_code", "account_name", "account_kind",
               "debit", "credit", "memo", "actor", "linked_object"]
    FIELDS = ("transaction_id", "transaction__created_at", "transaction__kind", "account__code", "account__name",
              "account__kind", "amount", "transaction__memo", "transaction__actor__name",
              "transaction__actor__email", "transaction__linked_type", "transaction__linked_id")

    def header(self) -> list[str]:
        return list(self.COLUMNS)

    def rows(self) -> Iterator[list]:
        query = self.entries().order_by("transaction__created_at", "transaction_id", "id").values_list(*self.FIELDS)
        for (txn_id, created_at, kind, code, name, account_kind, amount, memo,
             actor_name, actor_email, linked_type, linked_id) in query.iterator(chunk_size=CHUNK_SIZE):
            debit, credit = debit_credit(amount)
            actor = actor_name or (actor_email or "")
            linked = f"{linked_type}#{linked_id}" if linked_type else ""
            yield [txn_id, self.local_date(created_at), kind, code, name, account_kind, debit, credit, memo,
                   actor, linked]

    def copy_query(self, fmt: str, options: dict) -> tuple[str, tuple] | None:
        """The CSV or the XLSX, as `rows` and the format's writer make them, written by the database."""
        actor = Coalesce(NullIf(F("transaction__actor__name"), Value("")), F("transaction__actor__email"),
                         output_field=TextField())
        linked = Case(When(~Q(transaction__linked_type=""), then=Concat(
            F("transaction__linked_type"), Value("#"), F("transaction__linked_id"), output_field=TextField())))
        texts = {"kind": F("transaction__kind"), "code": F("account__code"), "name": F("account__name"),
                 "account_kind": F("account__kind"), "memo": F("transaction__memo"), "actor": actor,
                 "linked": linked}
        if fmt == "xlsx":
            text = in_sql.xlsx_text
            return self.copied([in_sql.xlsx_row([
                in_sql.xlsx_number(F("transaction_id")), in_sql.xlsx_day(F("transaction__created_at"),
                                                                         self.collective.timezone),
                *(text(texts[name]) for name in ("kind", "code", "name", "account_kind")),
                in_sql.xlsx_amount(in_sql.debit()), in_sql.xlsx_amount(in_sql.credit()),
                *(text(texts[name]) for name in ("memo", "actor", "linked")),
            ])])
        if fmt != "csv":
            return None
        comma = options.get("delimiter") == ";"
        return self.copied([
            F("transaction_id"), in_sql.local_day(F("transaction__created_at"), self.collective.timezone,
                                                  "YYYY-MM-DD"),
            *(in_sql.csv_text(texts[name]) for name in ("kind", "code", "name", "account_kind")),
            in_sql.amount_text(in_sql.debit(), decimal_comma=comma),
            in_sql.amount_text(in_sql.credit(), decimal_comma=comma),
            *(in_sql.csv_text(texts[name]) for name in ("memo", "actor", "linked")),
        ])


@register
class TrialBalanceExporter(LedgerExporter):
    """Per account: opening balance, debit and credit movements in the range, closing balance.

    Balances are signed like entries (debit balances positive), so the openings
    and the closings each sum to zero over all accounts.
    """

    kind = "trial_balance"
    COLUMNS = ["account_code", "account_name", "account_kind", "opening", "debit", "credit", "closing"]

    def header(self) -> list[str]:
        return list(self.COLUMNS)

    def balances(self):
        before = Q(transaction__created_at__lt=self.range.start) if self.range.start else Q(pk__in=[])
        within = Q(**self.range.filter_kwargs("transaction__created_at"))
        entries = self.scoped_entries()
        if self.range.end:
            entries = entries.filter(transaction__created_at__lt=self.range.end)
        return (
            entries.values("account_id", "account__code", "account__name", "account__kind")
            .annotate(
                opening=Coalesce(Sum("amount", filter=before), ZERO),
                debit=Coalesce(Sum("amount", filter=within & Q(amount__gt=0)), ZERO),
                credit=Coalesce(-Sum("amount", filter=within & Q(amount__lt=0)), ZERO),
            )
            .order_by("account__code")
        )

    def count(self) -> int:
        return self.balances().count()

    def rows(self) -> Iterator[list]:
        for row in self.balances().iterator(chunk_size=CHUNK_SIZE):
            closing = row["opening"] + row["debit"] - row["credit"]
            yield [row["account__code"], row["account__name"], row["account__kind"], row["opening"],
                   row["debit"], row["credit"], closing]


def fec_amount(value: Decimal) -> str:
    """Decimal comma, no thousands separator, two decimals: 1234,50."""
    return f"{value:.2f}".replace(".", ",")


def fec_label(text: str | None, fallback: str) -> str:
    """A mandatory FEC label, or `fallback` when nothing would be left of it in the file.

    The FecWriter blanks control characters (`fec_field`), so a funding source
    named with a bell character alone would leave CompAuxLib empty, and the
    specification wants every label filled (CompAuxLib with CompAuxNum).
    """
    return text if text and fec_field(text) else fallback


@register
class FecExporter(LedgerExporter):
    """The Fichier des écritures comptables (article A47 A-1 of the Livre des procédures fiscales).

    One file per fiscal year; the 18 columns in the order of the DGFiP notice;
    dates AAAAMMJJ; amounts with a decimal comma and no thousands separator.
    EcritureNum numbers the transactions of the fiscal year continuously in
    the order they were posted; PieceRef carries the ledger transaction id.
    Text passes through as stored: the FecWriter makes each field fit.
    """

    kind = "fec"
    formats = ("txt",)
    COLUMNS = ["JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib",
               "CompAuxNum", "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit",
               "EcritureLet", "DateLet", "ValidDate", "Montantdevise", "Idevise"]
    FIELDS = ("transaction_id", "transaction__created_at", "transaction__kind", "transaction__memo",
              "account__code", "account__name", "account__kind", "amount")

    def __init__(self, *, collective, params: dict):
        super().__init__(collective=collective, params=params)
        self.settings = accounting_settings_of(collective)

    def header(self) -> list[str]:
        return list(self.COLUMNS)

    def filename(self, extension: str) -> str:
        closing = self.range.last.strftime("%Y%m%d") if self.range.last else ""
        return f"{self.settings.siren or '000000000'}FEC{closing}.{extension}"

    def rows(self) -> Iterator[list]:
        chart = chart_of(self.collective)
        journal_code = fec_label(self.settings.journal_code, DEFAULT_JOURNAL_CODE)
        journal_label = fec_label(self.settings.journal_label, journal_code)
        foreign = self.collective.currency != "EUR"
        query = self.entries().order_by("transaction__created_at", "transaction_id", "id").values_list(*self.FIELDS)
        number, previous = 0, None
        for txn_id, created_at, kind, memo, code, name, account_kind, amount in query.iterator(chunk_size=CHUNK_SIZE):
            if txn_id != previous:
                number, previous = number + 1, txn_id
            day = self.local_date(created_at).strftime("%Y%m%d")
            account_number, account_label = chart[account_kind]
            debit, credit = debit_credit(amount)
            yield [journal_code, journal_label, str(number), day, account_number,
                   fec_label(account_label, account_number), code, fec_label(name, code), str(txn_id), day,
                   fec_label(memo, kind), fec_amount(debit), fec_amount(credit), "", "", day,
                   fec_amount(abs(amount)) if foreign else "", self.collective.currency if foreign else ""]

    def copy_query(self, fmt: str, options: dict) -> tuple[str, tuple] | None:
        """The FEC, as `rows` and the FecWriter make it, written by the database."""
        chart = chart_of(self.collective)
        journal_code = fec_label(self.settings.journal_code, DEFAULT_JOURNAL_CODE)
        journal_label = fec_label(self.settings.journal_label, journal_code)
        foreign = self.collective.currency != "EUR"
        number = Case(*(When(account__kind=kind, then=Value(number)) for kind, (number, _label) in chart.items()))
        label = Case(*(When(account__kind=kind, then=Value(label)) for kind, (_number, label) in chart.items()))
        day = in_sql.local_day(F("transaction__created_at"), self.collective.timezone, "YYYYMMDD")
        posted = Window(DenseRank(), order_by=[F("transaction__created_at").asc(), F("transaction_id").asc()])

        def amount(value):
            return in_sql.amount_text(value, decimal_comma=True)

        return self.copied([
            Value(fec_field(journal_code)), Value(fec_field(journal_label)), Cast(posted, TextField()), day,
            in_sql.fec_text(number), in_sql.fec_label(label, number), in_sql.fec_text(F("account__code")),
            in_sql.fec_label(F("account__name"), F("account__code")), Cast(F("transaction_id"), TextField()), day,
            in_sql.fec_label(F("transaction__memo"), F("transaction__kind")), amount(in_sql.debit()),
            amount(in_sql.credit()), Value(None, TextField()), Value(None, TextField()), day,
            amount(Func(F("amount"), function="abs")) if foreign else Value(None, TextField()),
            Value(fec_field(self.collective.currency) if foreign else None, TextField()),
        ])
