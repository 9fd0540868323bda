"""What the audit log records about budgets, their money, periods and the books, in the reader's language."""

from decimal import Decimal

from django.utils.formats import date_format
from django.utils.translation import gettext_lazy

from contrib_budget.money import format_money, format_rate
from members.audit import audit_namer, audit_vocabulary

from .models import AccountKind, BatchMethod, BatchStatus, Funding, Period

DECISIONS = {
    "pro_rata": gettext_lazy("pro rata"),
    "amounts": gettext_lazy("an amount per declaration"),
    "top_up": gettext_lazy("a top-up funding"),
}


def _decision(value, collective) -> str:
    """A deficit's decision: its kind, and the note the coordinators wrote."""
    if not isinstance(value, dict):
        return str(value)
    kind = str(DECISIONS.get(value.get("kind"), value.get("kind", "")))
    return f"{kind} — {value['note']}" if value.get("note") else kind


def _rate_level(level, currency: str) -> str:
    if not isinstance(level, dict):
        return str(level)
    if not level.get("hourly_rate"):
        return str(level.get("name", ""))
    return f"{level.get('name', '')} ({format_rate(Decimal(level['hourly_rate']), currency)})"


def _rate_levels(value, collective) -> str:
    """A budget's rate grid: "Simple (15,00 €/h), …"."""
    return ", ".join(_rate_level(level, collective.currency) for level in (value if isinstance(value, list) else []))


def _carried(value, collective) -> str:
    return str(len(value)) if isinstance(value, list) else str(value)


audit_vocabulary("budgets.budget", labels={"rate_levels": gettext_lazy("rate grid")},
                 renderers={"rate_levels": _rate_levels})
audit_vocabulary("budgets.task", labels={"envelope": gettext_lazy("mission")})
audit_vocabulary("budgets.period", labels={
    "requested": gettext_lazy("requested"),
    "granted": gettext_lazy("granted"),
    "carried": gettext_lazy("pending declarations carried to the next period"),
    "decision": gettext_lazy("decision"),
}, renderers={"decision": _decision, "carried": _carried})
audit_vocabulary("contributions.payout", labels={
    "reversed": gettext_lazy("reversed"),
    "reason": gettext_lazy("reason"),
    "amount": gettext_lazy("amount"),
    "correction": gettext_lazy("correction"),
})
audit_vocabulary("budgets.payoutbatch", labels={
    "method": gettext_lazy("method"),
    "status": gettext_lazy("status"),
    "total": gettext_lazy("total"),
    "count": gettext_lazy("payouts"),
    "payouts": gettext_lazy("payouts sent"),
    "skipped": gettext_lazy("payouts left out"),
    "released": gettext_lazy("payouts payable again"),
}, choices={"method": dict(BatchMethod.choices), "status": dict(BatchStatus.choices)})
audit_vocabulary("budgets.payoutcorrection", labels={
    "amount": gettext_lazy("amount"),
    "payouts": gettext_lazy("payouts it was withheld from"),
})
audit_vocabulary("accounting.settings_updated", model="accounting.accountingsettings")
audit_vocabulary("accounting.chart_updated", labels=dict(AccountKind.choices))
audit_vocabulary("accounting.export", labels={
    "kind": gettext_lazy("kind"), "format": gettext_lazy("format"), "params": gettext_lazy("options"),
    "error": gettext_lazy("error"),
})
audit_vocabulary("accounting.issueddocument", labels={"subject": gettext_lazy("subject")})


@audit_namer("budgets.period")
def _periods(collective, ids: list[str]) -> dict[str, str]:
    """A period by its budget and its dates, written the reader's way."""
    periods = Period.objects.of(collective).filter(pk__in=[int(pk) for pk in ids]).select_related("budget")
    return {str(p.pk): f"{p.budget.name} · {date_format(p.starts_on, 'SHORT_DATE_FORMAT')} – "
                       f"{date_format(p.ends_on, 'SHORT_DATE_FORMAT')}" for p in periods}


@audit_namer("budgets.funding")
def _fundings(collective, ids: list[str]) -> dict[str, str]:
    """A funding by its source and amount, in the collective's currency."""
    fundings = Funding.objects.of(collective).filter(pk__in=[int(pk) for pk in ids])
    return {str(f.pk): f"{f.source} ({format_money(f.amount, collective.currency)})" for f in fundings}
