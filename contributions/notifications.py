"""What declarations tell people: questions and answers to those concerned, decisions to their author."""

from django.urls import reverse
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from members.notifications.kinds import Kind, register
from members.notifications.services import notify

from .models import Comment, CommentKind, Contribution

register(
    Kind("contribution.questioned", _("Questions on my declarations"),
         _("%(name)s questioned your declaration “%(declaration)s”: %(comment)s")),
    Kind("contribution.commented", _("Answers on declarations I questioned"),
         _("%(name)s answered on the declaration “%(declaration)s”: %(comment)s")),
    Kind("contribution.validated", _("Validation of my declarations"),
         _("Your declaration “%(declaration)s” is validated for %(amount)s."), money=("amount",)),
    Kind("contribution.adjusted", _("Adjustment of my declarations"),
         _("Your declaration “%(declaration)s” is adjusted from %(requested)s to %(amount)s: %(reason)s"),
         money=("requested", "amount")),
    Kind("contribution.rejected", _("Rejection of my declarations"),
         _("Your declaration “%(declaration)s” is rejected: %(reason)s")),
)

EXCERPT = 80


def declaration_label(contribution: Contribution) -> str:
    return Truncator(" ".join(contribution.description.split())).chars(60)


def declaration_url(contribution: Contribution) -> str:
    return reverse("contribution_detail", args=[contribution.collective.slug, contribution.pk])


def _notify(contribution: Contribution, *, kind: str, recipients, actor, **params) -> None:
    notify(collective=contribution.collective, kind=kind, recipients=recipients, actor=actor,
           url=declaration_url(contribution), params={"declaration": declaration_label(contribution), **params})


def comment_notify(*, comment: Comment, actor) -> None:
    """A question reaches the declaration's author; the author's answer (reply or amendment) those who asked."""
    contribution = comment.contribution
    excerpt = Truncator(" ".join(comment.body.split())).chars(EXCERPT)
    if comment.kind == CommentKind.QUESTION:
        _notify(contribution, kind="contribution.questioned", recipients=[contribution.author_id], actor=actor,
                name=actor.display_name, comment=excerpt)
        return
    askers = (Comment.objects.filter(contribution=contribution, kind=CommentKind.QUESTION)
              .values_list("author_id", flat=True).distinct())
    _notify(contribution, kind="contribution.commented", recipients=askers, actor=actor,
            name=actor.display_name, comment=excerpt)


def decision_notify(*, contribution: Contribution, actor) -> None:
    """The author learns the decision on their declaration, with the amount and the reason."""
    _notify(contribution, kind=f"contribution.{contribution.status}", recipients=[contribution.author_id],
            actor=actor, amount=str(contribution.validated_amount or 0), requested=str(contribution.amount),
            reason=contribution.decision_reason)
