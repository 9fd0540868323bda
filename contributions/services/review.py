"""The open regulation: questions anyone may ask, and the coordinators' decisions (one or many at once)."""

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from django.db import transaction
from django.utils.translation import gettext as _

from contrib_budget import text
from contrib_budget.errors import Conflict, DomainError, Forbidden, checked
from contrib_budget.money import MAX_DECLARATION, MoneyInput, format_money, parse_money
from members.audit import audit_record
from members.models import Membership, Role, User

from ..models import Approval, Comment, CommentKind, Contribution, ContributionStatus
from ..notifications import comment_notify, decision_notify
from ._common import DECIDABLE, contribution_state, invalid, lock_contribution


def contribution_question(*, contribution: Contribution, actor: User, comment: str) -> Comment:
    """Any member questions a declaration in the open; the author's own comments are replies."""
    body = checked("comment", (comment or "").strip(), text.multi_line(5000))
    if not body:
        raise invalid("comment", _("Write your question."), "required")
    with transaction.atomic():
        contribution, _period = lock_contribution(contribution)
        kind = CommentKind.REPLY if contribution.author_id == actor.pk else CommentKind.QUESTION
        note = Comment.objects.create(
            collective=contribution.collective, contribution=contribution, author=actor, kind=kind, body=body
        )
        audit_record(collective=contribution.collective, actor=actor, action=f"contribution.{kind}",
                     target=contribution, after={"comment": body})
        comment_notify(comment=note, actor=actor)
    return note


def _require_reviewer(contribution: Contribution, membership: Membership) -> None:
    if membership.collective_id != contribution.collective_id or not membership.has_role(Role.COORDINATOR):
        raise Forbidden(_("Only coordinators review declarations."), "not_coordinator")
    if contribution.author_id == membership.user_id:
        raise Forbidden(_("Nobody reviews their own declaration."), "own_declaration")


def contribution_validate(*, contribution: Contribution, membership: Membership) -> Contribution:
    """A coordinator approves; the declaration is validated once the budget's N coordinators approved."""
    _require_reviewer(contribution, membership)
    actor = membership.user
    with transaction.atomic():
        contribution, _period = lock_contribution(contribution)
        if contribution.status != ContributionStatus.PENDING:
            raise Conflict(_("This declaration is already decided."), "already_decided")
        _approval, created = Approval.objects.get_or_create(
            collective=contribution.collective, contribution=contribution, coordinator=actor
        )
        if not created:
            raise Conflict(_("You already approved this declaration."), "already_approved")
        approvals = Approval.objects.filter(contribution=contribution).count()
        required = contribution.budget.required_approvals
        before = contribution_state(contribution)
        if approvals >= required:
            contribution.status = ContributionStatus.VALIDATED
            contribution.validated_amount = contribution.amount
            contribution.decision_reason = ""
            contribution.save(update_fields=["status", "validated_amount", "decision_reason", "updated_at"])
            action = "contribution.validated"
            decision_notify(contribution=contribution, actor=actor)
        else:
            action = "contribution.approved"
        audit_record(collective=contribution.collective, actor=actor, action=action, target=contribution,
                     before=before,
                     after={**contribution_state(contribution), "approvals": approvals, "required": required})
    return contribution


def _decide(
    *, contribution: Contribution, membership: Membership, status: str, amount: Decimal | None, reason: str,
    action: str,
) -> Contribution:
    actor = membership.user
    with transaction.atomic():
        contribution, _period = lock_contribution(contribution)
        if contribution.status not in DECIDABLE:
            raise Conflict(_("This declaration is already adjusted or rejected."), "already_decided")
        if amount is not None and amount > contribution.amount:
            raise invalid(
                "amount",
                _("An adjustment cannot exceed the requested %(amount)s; the author may amend the request.") % {
                    "amount": format_money(contribution.amount, contribution.collective.currency)},
                "above_request",
            )
        before = contribution_state(contribution)
        contribution.status = status
        contribution.validated_amount = amount
        contribution.decision_reason = reason
        contribution.save(update_fields=["status", "validated_amount", "decision_reason", "updated_at"])
        audit_record(collective=contribution.collective, actor=actor, action=action, target=contribution,
                     before=before, after=contribution_state(contribution))
        decision_notify(contribution=contribution, actor=actor)
    return contribution


def _reason(reason: str) -> str:
    reason = checked("reason", (reason or "").strip(), text.multi_line(2000))
    if not reason:
        raise invalid("reason", _("Give the reason: everyone in the collective will read it."), "required")
    return reason


def contribution_adjust(
    *, contribution: Contribution, membership: Membership, amount: MoneyInput, reason: str
) -> Contribution:
    """A coordinator sets a lower amount, with a reason everyone sees."""
    _require_reviewer(contribution, membership)
    reason = _reason(reason)
    amount = parse_money(amount, "amount", maximum=MAX_DECLARATION)
    return _decide(contribution=contribution, membership=membership, status=ContributionStatus.ADJUSTED,
                   amount=amount, reason=reason, action="contribution.adjusted")


def contribution_reject(*, contribution: Contribution, membership: Membership, reason: str) -> Contribution:
    """A coordinator rejects a declaration, with a reason everyone sees."""
    _require_reviewer(contribution, membership)
    reason = _reason(reason)
    return _decide(contribution=contribution, membership=membership, status=ContributionStatus.REJECTED,
                   amount=None, reason=reason, action="contribution.rejected")


# One page of the pending list is 50 declarations; a batch is a few pages at most.
MAX_BATCH = 200


class BatchOutcome(StrEnum):
    VALIDATED = "validated"
    APPROVED = "approved"  # approval recorded; more coordinators must approve
    SKIPPED = "skipped"


@dataclass(frozen=True)
class BatchResult:
    """What validating one declaration of a batch did; a skipped one says why, as the API's errors do."""

    id: int
    outcome: BatchOutcome
    contribution: Contribution | None = None
    code: str = ""
    message: str = ""


def contributions_validate(*, membership: Membership, ids: list[int]) -> list[BatchResult]:
    """A coordinator validates several declarations at once, in the order given (repeats once).

    Each goes through `contribution_validate`, in its own transaction, so each is checked as if it were validated
    alone: one's own declarations, decided ones and closed periods are skipped with the reason, the others are
    validated (or approved, when the budget needs more approvals). Ids of no declaration of the collective are
    skipped as not found.
    """
    if not membership.has_role(Role.COORDINATOR):
        raise Forbidden(_("Only coordinators review declarations."), "not_coordinator")
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise invalid("ids", _("Choose at least one declaration to validate."), "required")
    if len(ids) > MAX_BATCH:
        raise invalid("ids", _("Validate at most %(max)s declarations at once.") % {"max": MAX_BATCH}, "too_many")
    found = Contribution.objects.of(membership.collective_id).select_related("author").in_bulk(ids)
    results = []
    for pk in ids:
        contribution = found.get(pk)
        if contribution is None:
            results.append(BatchResult(pk, BatchOutcome.SKIPPED, code="not_found",
                                       message=_("No such declaration in this collective.")))
            continue
        try:
            validated = contribution_validate(contribution=contribution, membership=membership)
        except DomainError as error:
            results.append(BatchResult(pk, BatchOutcome.SKIPPED, contribution, error.code, error.message))
        else:
            outcome = (BatchOutcome.VALIDATED if validated.status == ContributionStatus.VALIDATED
                       else BatchOutcome.APPROVED)
            results.append(BatchResult(pk, outcome, validated))
    return results
