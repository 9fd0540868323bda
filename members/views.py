"""Pages about me, my collectives, their members, invitations and tokens.

Each view parses the request, calls one service, renders. A DomainError from a
service becomes a form error or a message, never a server error.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from contrib_budget.errors import DomainError, Forbidden
from contrib_budget.forms import add_domain_error, error_text
from contrib_budget.tenancy import role_required
from contrib_budget.text import parse_id

from . import bank, dashboard, selectors, services
from .audit import audit_csv, audit_readable, audit_redacted
from .footprints import member_footprints
from .forms import (
    AuditFilterForm,
    CollectiveCreateForm,
    CollectiveUpdateForm,
    MemberInviteForm,
    MemberSearchForm,
    MembershipRolesForm,
    TokenCreateForm,
    person_suggestion,
)
from .models import ROLE_DUTIES, Invitation, Membership, PersonalToken, Role
from .permissions import MANAGE_MEMBERS, READ_BANK_DETAILS

AUDIT_PAGE_SIZE = 50
MEMBERS_PAGE_SIZE = 50
INVITATIONS_PAGE_SIZE = 20
# A picker suggests this many people at most: enough to find someone by typing a little more, whatever the size of
# the collective.
SUGGESTIONS = 20
NEW_TOKEN_SESSION_KEY = "members:new_token"


def home(request):
    if not request.user.is_authenticated:
        return render(request, "members/welcome.html")
    return render(request, "members/home.html", {
        "memberships": selectors.memberships_of(request.user),
        "invitations": selectors.invitations_pending_for(request.user),
        "waiting_items": selectors.waiting_items(request.user),
    })


@login_required
def collective_create(request):
    form = CollectiveCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            collective = services.collective_create(creator=request.user, **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("%(name)s is created. You are its coordinator.") % {"name": collective.name})
            return redirect("collective_dashboard", collective.slug)
    return render(request, "members/collective_create.html", {"form": form})


def collective_dashboard(request, collective_slug):
    return render(request, "members/collective_dashboard.html", {
        "collective": request.collective,
        "membership": request.membership,
        "member_count": selectors.collective_member_count(request.collective),
        "panels": dashboard.panels_for(request.collective, request.membership),
    })


@role_required(Role.COORDINATOR)
def collective_settings(request, collective_slug):
    collective = request.collective
    initial = {field: getattr(collective, field) for field in CollectiveUpdateForm.base_fields}
    form = CollectiveUpdateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.collective_update(collective=collective, actor=request.user, **form.cleaned_data)
        except DomainError as error:
            collective.refresh_from_db()
            add_domain_error(form, error)
        else:
            messages.success(request, _("The settings of %(name)s are saved.") % {"name": collective.name})
            return redirect("collective_dashboard", collective.slug)
    return render(request, "members/collective_settings.html", {"collective": collective, "form": form},
                  status=400 if form.errors else 200)


def _query_without(request, *names: str) -> str:
    """The page's query string without `names` (the page numbers its links set themselves)."""
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def _members_page(request, invite_form, status=200):
    """One row per person, a page at a time; coordinators see the emails and edit each person in a dialog:
    `?edit=<id>` opens it on the page, and `&part=dialog` answers only the dialog, which the page's script shows
    in place (a page of 50 people does not carry 50 dialogs)."""
    collective = request.collective
    is_coordinator = request.membership.has_role(Role.COORDINATOR)
    edited = _edited_membership(request) if is_coordinator else None
    if edited is not None and request.GET.get("part") == "dialog":
        return render(request, "members/_member_dialog.html", {
            "collective": collective, "membership": request.membership, "m": edited, "role_choices": Role.choices,
        })
    search_form = MemberSearchForm(request.GET or None, by_email=is_coordinator)
    search = search_form.search()
    page = Paginator(selectors.collective_members(collective, search=search, by_email=is_coordinator),
                     MEMBERS_PAGE_SIZE).get_page(request.GET.get("page"))
    memberships = list(page.object_list)
    sees_bank_details = request.membership.has_role(*READ_BANK_DETAILS.roles)
    if sees_bank_details:
        recorded = bank.bank_details_of_people(collective=collective, people=[m.user_id for m in memberships])
        for m in memberships:
            m.bank_details = recorded.get(m.user_id)
    invitations = (Paginator(selectors.collective_invitations_pending(collective), INVITATIONS_PAGE_SIZE)
                   .get_page(request.GET.get("invitations_page")) if is_coordinator else None)
    return render(request, "members/members.html", {
        "collective": collective,
        "membership": request.membership,
        "is_coordinator": is_coordinator,
        "sees_bank_details": sees_bank_details,
        "columns": 3 + is_coordinator + sees_bank_details,
        "memberships": memberships,
        "page": page,
        "query": _query_without(request, "page", "edit", "part"),
        "search_form": search_form,
        "search": search,
        "suggest_url": reverse("member_search", args=[collective.slug]),
        "edited": edited,
        "invitations": invitations,
        "invitations_query": _query_without(request, "invitations_page", "edit", "part"),
        "invite_form": invite_form,
        "role_choices": Role.choices,
        "role_duties": [(label, ROLE_DUTIES[Role(value)]) for value, label in Role.choices],
    }, status=status)


def _edited_membership(request) -> Membership | None:
    """The membership named by ?edit=<id>, with what stays recorded of the person (said before removing them)."""
    editing = parse_id(request.GET.get("edit", ""))
    edited = (Membership.objects.of(request.collective).select_related("user").filter(pk=editing).first()
              if editing is not None else None)
    if edited is not None:
        edited.footprint = ", ".join(member_footprints(request.collective, [edited.user_id]).get(edited.user_id, []))
    return edited


def members(request, collective_slug):
    return _members_page(request, MemberInviteForm())


def _suggestions(people, request, *, by_email: bool, user: str = "", extra: tuple[str, ...] = ()) -> JsonResponse:
    """The first SUGGESTIONS of `people` matching ?q= (none for an empty or invalid search), as the texts a picker
    offers; `extra` words (e.g. "the system") come first when they contain the search."""
    search = MemberSearchForm(request.GET, by_email=by_email).search()
    if not search:
        return JsonResponse({"results": []})
    words = [word for word in extra if search.casefold() in word.casefold()]
    found = selectors.people_search(people, search, by_email=by_email, user=user)[:SUGGESTIONS - len(words)]
    values = words + [person_suggestion(person.user if user else person, by_email=by_email) for person in found]
    return JsonResponse({"results": [{"value": value} for value in values]})


@require_GET
def member_search(request, collective_slug):
    """The members matching ?q= for the pickers (SUGGESTIONS at most); by email too for coordinators and
    accountants, who read the emails (accountants in their exports)."""
    membership = request.membership
    by_email = membership.has_role(Role.COORDINATOR) or membership.has_role(Role.ACCOUNTANT)
    members = Membership.objects.of(request.collective).select_related("user")
    return _suggestions(members, request, by_email=by_email, user="user__")


@require_POST
@role_required(Role.COORDINATOR)
def member_invite(request, collective_slug):
    form = MemberInviteForm(request.POST)
    if form.is_valid():
        try:
            invitation = services.member_add(collective=request.collective, actor=request.user, **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("An invitation was sent to %(email)s.") % {"email": invitation.email})
            return redirect("members", collective_slug)
    return _members_page(request, form, status=400)


@require_POST
@role_required(Role.COORDINATOR)
def membership_roles(request, collective_slug, membership_id):
    membership = get_object_or_404(Membership.objects.of(request.collective).select_related("user"), pk=membership_id)
    form = MembershipRolesForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give at least one role."))
        return redirect("members", collective_slug)
    try:
        services.membership_set_roles(membership=membership, actor=request.user, roles=form.cleaned_data["roles"])
    except DomainError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, _("%(name)s is now: %(roles)s.") % {
            "name": membership.user.display_name, "roles": ", ".join(selectors.role_labels(membership.roles))})
    return redirect("members", collective_slug)


@require_http_methods(["GET", "POST"])
def membership_remove(request, collective_slug, membership_id):
    """A coordinator removes someone; anyone may remove themself (leave). GET asks for confirmation."""
    membership = get_object_or_404(Membership.objects.of(request.collective).select_related("user"), pk=membership_id)
    leaving = membership.pk == request.membership.pk
    if not leaving and not MANAGE_MEMBERS.allows(collective=request.collective, actor=request.user):
        raise PermissionDenied
    if request.method == "GET":
        return render(request, "members/membership_remove_confirm.html", {
            "collective": request.collective, "target": membership, "leaving": leaving,
        })
    kept = ", ".join(member_footprints(request.collective, [membership.user_id]).get(membership.user_id, []))
    try:
        services.membership_remove(membership=membership, actor=request.user)
    except DomainError as error:
        messages.error(request, error_text(error))
        return redirect("members", collective_slug)
    if leaving:
        messages.success(request, _("You left %(name)s.") % {"name": request.collective.name})
        return redirect("home")
    names = {"name": membership.user.display_name, "collective": request.collective.name, "kept": kept}
    messages.success(request, (_("%(name)s was removed from %(collective)s; kept: %(kept)s.") if kept
                               else _("%(name)s was removed from %(collective)s.")) % names)
    return redirect("members", collective_slug)


@require_POST
@role_required(Role.COORDINATOR)
def invitation_revoke(request, collective_slug, invitation_id):
    invitation = get_object_or_404(Invitation.objects.of(request.collective), pk=invitation_id)
    try:
        services.invitation_revoke(invitation=invitation, actor=request.user)
    except DomainError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, _("The invitation to %(email)s is revoked.") % {"email": invitation.email})
    return redirect("members", collective_slug)


def invitation_accept(request, token):
    invitation = selectors.invitation_by_token(token)
    if invitation is None:
        return render(request, "members/invitation_invalid.html", status=404)
    if not invitation.is_pending:
        return render(request, "members/invitation_invalid.html", {"invitation": invitation}, status=410)
    context = {"invitation": invitation, "roles": selectors.role_labels(invitation.roles)}
    if request.user.is_authenticated and not selectors.user_owns_email(request.user, invitation.email):
        return render(request, "members/invitation_accept.html", {**context, "other_account": True},
                      status=403 if request.method == "POST" else 200)
    if request.method == "POST" and request.user.is_authenticated:
        try:
            membership = services.invitation_accept(token=token, user=request.user)
        except DomainError as error:
            messages.error(request, error_text(error))
            return render(request, "members/invitation_invalid.html", {"invitation": invitation}, status=410)
        messages.success(request, _("Welcome to %(name)s!") % {"name": membership.collective.name})
        return redirect("collective_dashboard", membership.collective.slug)
    return render(request, "members/invitation_accept.html", context)


@require_POST
@login_required
def invitation_decline(request, token):
    """The invited person declines, from the invitation page or the home page."""
    invitation = selectors.invitation_by_token(token)
    if invitation is None:
        return render(request, "members/invitation_invalid.html", status=404)
    try:
        services.invitation_decline(token=token, user=request.user)
    except Forbidden:
        raise PermissionDenied from None
    except DomainError:
        return render(request, "members/invitation_invalid.html", {"invitation": invitation}, status=410)
    messages.success(request, _("You declined the invitation to join %(name)s.") % {"name": invitation.collective.name})
    return redirect("home")


def _audit_filter_form(request) -> AuditFilterForm:
    collective = request.collective
    return AuditFilterForm(request.GET, actions=selectors.audit_actions(collective),
                           people=selectors.audit_actors(collective),
                           suggest_url=reverse("audit_people", args=[collective.slug]))


@require_GET
@role_required(Role.COORDINATOR)
def audit_people(request, collective_slug):
    """The people of the audit log matching ?q=, for its "Who" filter: only those it may name as having done
    something (SUGGESTIONS at most), and the system."""
    return _suggestions(selectors.audit_actors(request.collective), request, by_email=True,
                        extra=(_("the system"),))


@role_required(Role.COORDINATOR)
def audit_log(request, collective_slug):
    """The audit log in the reader's language, filtered by action, person and days, newest first."""
    collective = request.collective
    form = _audit_filter_form(request)
    events = selectors.audit_events(collective, **form.filters())
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = audit_readable(collective, audit_redacted(list(page.object_list)))
    return render(request, "members/audit_log.html", {
        "collective": collective, "page": page, "form": form, "query": _query_without(request, "page"),
        "filtered": any(form.filters().values()),
    })


@role_required(Role.COORDINATOR)
def audit_log_csv(request, collective_slug):
    """The filtered audit log as a CSV file; semicolons in French, as French spreadsheets expect."""
    collective = request.collective
    events = selectors.audit_events(collective, **_audit_filter_form(request).filters())
    delimiter = ";" if get_language().startswith("fr") else ","
    response = StreamingHttpResponse(audit_csv(collective, events, delimiter=delimiter),
                                     content_type="text/csv; charset=utf-8")
    filename = f"audit-{collective.slug}-{timezone.localdate().isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def settings_index(request):
    # Bank details are recorded per collective: the page links to each of the person's.
    return render(request, "members/settings_index.html", {"memberships": selectors.memberships_of(request.user)})


@login_required
def tokens(request):
    form = TokenCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        token, key = services.token_create(user=request.user, name=form.cleaned_data["name"])
        request.session[NEW_TOKEN_SESSION_KEY] = {"name": token.name, "key": key}
        return redirect("tokens")
    return render(request, "members/tokens.html", {
        "form": form,
        "tokens": selectors.tokens_of(request.user),
        "new_token": request.session.pop(NEW_TOKEN_SESSION_KEY, None),
        "now": timezone.now(),
    })


@require_POST
@login_required
def token_revoke(request, token_id):
    token = get_object_or_404(PersonalToken, pk=token_id, user=request.user)
    services.token_revoke(token=token)
    messages.success(request, _("The token “%(name)s” is revoked.") % {"name": token.name})
    return redirect("tokens")

