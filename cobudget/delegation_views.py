"""Pages of delegation in a live round: a participant lets another give from their wallet, and takes it back
(thin: services.wallet_delegate and services.wallet_delegation_revoke do the work). What the round and bucket
pages show of it comes from cobudget/templatetags/cobudget_delegation.py."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from contrib_budget.errors import DomainError
from contrib_budget.forms import error_text
from contrib_budget.text import parse_id
from members.models import Role, User

from . import services
from .delegation_api import on_behalf_of_member
from .forms import members_of, person_field
from .models import Round
from .views import round_of


class DelegateForm(forms.Form):
    """Whom to let give from my wallet: typed (suggested by the members search), never picked in a list of all."""

    def __init__(self, *args, collective, by_email: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["delegate"] = person_field(collective, members_of(collective), by_email=by_email,
                                               label=gettext_lazy("Delegate my wallet to"))
        self.fields["delegate"].required = True


def delegate_form(request, data=None) -> DelegateForm:
    by_email = request.membership.has_role(Role.COORDINATOR, Role.ACCOUNTANT)
    return DelegateForm(data, collective=request.collective, by_email=by_email, prefix="delegation")


def posted_owner(request) -> User | None:
    """Whose wallet a bucket's form gives from (`on_behalf_of`, a user id): None for the reader's own."""
    posted = request.POST.get("on_behalf_of", "").strip()
    if not posted:
        return None
    return on_behalf_of_member(request.collective, {"on_behalf_of": parse_id(posted) or 0})


def _back(request, round: Round):
    return redirect(reverse("cobudget_round", args=[request.collective.slug, round.pk]) + "#delegation")


@require_POST
def round_delegate(request, collective_slug, round_id):
    round = round_of(request, round_id)
    form = delegate_form(request, request.POST)
    try:
        if not form.is_valid():
            raise DomainError(error_text(form) if form.data.get("delegation-delegate", "").strip()
                              else _("Type the participant you delegate your wallet to."), "invalid")
        delegate = form.cleaned_data["delegate"]
        services.wallet_delegate(round=round, actor=request.user, delegate=delegate)
    except DomainError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, _("%(name)s can now give from your wallet until you take it back; you can still "
                                    "give from it too.") % {"name": delegate.display_name})
    return _back(request, round)


@require_POST
def round_delegation_revoke(request, collective_slug, round_id):
    round = round_of(request, round_id)
    try:
        delegation = services.wallet_delegation_revoke(round=round, actor=request.user)
    except DomainError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, _("You took your wallet back: %(name)s can no longer give from it. What they gave "
                                    "stays given; what is left is yours to give.")
                         % {"name": delegation.delegate.display_name})
    return _back(request, round)
