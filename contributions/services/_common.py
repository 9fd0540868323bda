"""What declaring and reviewing share: the limits, the audit snapshot of a declaration, its locks."""

from django.utils.translation import gettext as _

from budgets.locks import ensure_period_unlocked
from budgets.models import Period, PeriodStatus
from contrib_budget.errors import Conflict, DomainError

from ..models import Contribution, ContributionStatus

# A declaration above this is a typing mistake, not a contribution.
# 1000 hours: more than half a year of full-time work in one declaration.
MAX_MINUTES = 1000 * 60
# Statuses in which the author may still amend, and coordinators still decide.
AMENDABLE = (ContributionStatus.PENDING,)
DECIDABLE = (ContributionStatus.PENDING, ContributionStatus.VALIDATED)


def invalid(field: str, message: str, code: str = "invalid") -> DomainError:
    return DomainError(message, code, fields={field: [message]})


def contribution_state(contribution: Contribution) -> dict:
    return {
        "budget": contribution.budget_id,
        "envelope": contribution.envelope_id,
        "task": contribution.task_id,
        "period": contribution.period_id,
        "performed_on": contribution.performed_on.isoformat(),
        "description": contribution.description,
        "minutes": contribution.minutes,
        "value_mode": contribution.value_mode,
        "rate_level": contribution.rate_level_id,
        "hourly_rate": str(contribution.hourly_rate) if contribution.hourly_rate is not None else None,
        "amount": str(contribution.amount),
        "validated_amount": str(contribution.validated_amount) if contribution.validated_amount is not None else None,
        "status": contribution.status,
        "decision_reason": contribution.decision_reason,
        "attachment": contribution.attachment_name if contribution.attachment else None,
    }


def lock_contribution(contribution: Contribution) -> tuple[Contribution, Period]:
    """Lock the declaration's period then the declaration (always in that order)."""
    period = Period.objects.select_for_update().get(pk=contribution.period_id)
    ensure_period_unlocked(period)
    locked = Contribution.objects.select_for_update().select_related("budget").get(pk=contribution.pk)
    if period.status != PeriodStatus.OPEN:
        raise Conflict(
            _("The period of this declaration is closed: it can no longer change."), "period_closed"
        )
    return locked, period
