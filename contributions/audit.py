"""What the audit log records about declarations and payouts, in the reader's language."""

from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from budgets.models import Payout
from members.audit import audit_namer, audit_vocabulary

audit_vocabulary("contributions.contribution", labels={
    "budget": gettext_lazy("budget"),
    "envelope": gettext_lazy("mission"),
    "task": gettext_lazy("task"),
    "period": gettext_lazy("period"),
    "rate_level": gettext_lazy("rate level"),
    "comment": gettext_lazy("comment"),
    "approvals": gettext_lazy("approvals given"),
    "required": gettext_lazy("approvals required"),
    "approvals_withdrawn": gettext_lazy("approvals withdrawn"),
})
audit_vocabulary("contributions.payout", labels={
    "payable": gettext_lazy("payable"),
    "owed": gettext_lazy("owed until pledged money arrives"),
})


@audit_namer("contributions.payout")
def _payouts(collective, ids: list[str]) -> dict[str, str]:
    """A payout by whom it pays and for which declaration (it has no name of its own)."""
    payouts = (Payout.objects.of(collective).filter(pk__in=[int(pk) for pk in ids if pk.isdigit() and len(pk) < 19])
               .select_related("person", "contribution"))
    return {
        str(payout.pk): _("Payout to %(person)s for “%(declaration)s”") % {
            "person": payout.person.display_name,
            "declaration": Truncator(" ".join(payout.contribution.description.split())).chars(60),
        }
        for payout in payouts
    }
