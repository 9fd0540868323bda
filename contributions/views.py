"""Pages of declarations: declare, the list (where reviewers validate several at once), one declaration with its
thread, a period and its gauge.

Each view parses the request, calls one service, renders. A DomainError from a
service becomes a form error or a message, never a server error.
"""

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from budgets.models import Period, PeriodStatus
from contrib_budget.errors import DomainError, Forbidden
from contrib_budget.forms import add_domain_error, error_text
from contrib_budget.money import format_money
from contrib_budget.tenancy import role_required
from members.models import Role

from . import selectors, services
from .forms import (
    AdjustForm,
    BatchValidateForm,
    DeclarationForm,
    ListFilterForm,
    QuestionForm,
    RejectForm,
    contribution_initial,
    declaration_initial,
)
from .models import Contribution, ContributionStatus
from .notifications import declaration_label

PAGE_SIZE = 50
COMMENTS_PAGE_SIZE = 50


def _contribution(request, contribution_id: int) -> Contribution:
    try:
        contribution = (selectors.with_names(selectors.contributions_of(request.collective), request.collective)
                        .select_related("rate_level").get(pk=contribution_id))
    except Contribution.DoesNotExist:
        raise Http404 from None
    return selectors.payouts_told_their_collective([contribution], request.collective)[0]


@role_required(Role.CONTRIBUTOR)
def contribution_declare(request, collective_slug):
    collective = request.collective
    if request.method == "POST":
        form = DeclarationForm(request.POST, request.FILES, collective=collective)
        if form.is_valid():
            try:
                contribution = services.contribution_declare(
                    collective=collective, membership=request.membership, declaration=form.declaration(),
                    attachment=form.cleaned_data.get("attachment"),
                )
            except DomainError as error:
                form.add_service_error(error)
            else:
                messages.success(request, _("Declared: %(amount)s requested.") % {
                    "amount": format_money(contribution.amount, collective.currency)})
                return redirect("contribution_detail", collective_slug, contribution.pk)
    else:
        form = DeclarationForm(initial=declaration_initial(collective=collective, user=request.user),
                               collective=collective)
    return render(request, "contributions/declare.html", {
        "collective": collective, "form": form, "has_budgets": bool(form.fields["budget"].queryset),
        "all_closed": not form.fields["budget"].queryset and selectors.budgets_of(collective).exists(),
    }, status=400 if form.errors else 200)


def contribution_list(request, collective_slug):
    collective = request.collective
    membership = request.membership
    filter_form = ListFilterForm(
        request.GET or None, collective=collective, suggest_url=reverse("member_search", args=[collective.slug]),
        by_email=membership.has_role(Role.COORDINATOR) or membership.has_role(Role.ACCOUNTANT))
    queryset = selectors.with_names(selectors.contributions_of(collective, **filter_form.filters()), collective)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    without_period = query.copy()
    without_period.pop("period", None)
    # Reviewers tick pending declarations of open periods to validate them at once.
    can_batch = membership.has_role(Role.COORDINATOR) and any(
        c.status == ContributionStatus.PENDING and c.period.status == PeriodStatus.OPEN for c in page.object_list)
    return render(request, "contributions/list.html", {
        "collective": collective, "filter_form": filter_form, "page": page, "query": query.urlencode(),
        "period_filter": getattr(filter_form, "cleaned_data", {}).get("period"),
        "query_without_period": without_period.urlencode(),
        "can_declare": membership.has_role(Role.CONTRIBUTOR),
        "batch_form": "batch-validate" if can_batch else None,
        # What the batch's confirmation and summary say; contributions.js puts the count and the total in.
        "batch_confirm": {
            "one": ngettext("Validate %(count)s declaration of %(total)s?",
                            "Validate %(count)s declarations totalling %(total)s?", 1),
            "many": ngettext("Validate %(count)s declaration of %(total)s?",
                             "Validate %(count)s declarations totalling %(total)s?", 2),
            "summary": _("%(count)s selected: %(total)s"),
        } if can_batch else None,
    })


def _batch_messages(request, results: list[services.BatchResult]) -> None:
    """The outcome of a batch in figures: how many validated and for how much, how many approved, and each one
    skipped with its reason."""
    currency = request.collective.currency
    validated = [r.contribution for r in results if r.outcome == services.BatchOutcome.VALIDATED]
    approved = [r for r in results if r.outcome == services.BatchOutcome.APPROVED]
    skipped = [r for r in results if r.outcome == services.BatchOutcome.SKIPPED]
    if validated:
        total = sum((c.validated_amount for c in validated), Decimal("0.00"))
        messages.success(request, ngettext(
            "Validated %(count)s declaration: %(total)s.",
            "Validated %(count)s declarations: %(total)s in all.", len(validated),
        ) % {"count": len(validated), "total": format_money(total, currency)})
    if approved:
        messages.success(request, ngettext(
            "Your approval is recorded on %(count)s declaration; more coordinators must approve it.",
            "Your approval is recorded on %(count)s declarations; more coordinators must approve them.",
            len(approved),
        ) % {"count": len(approved)})
    if skipped:
        reasons = "; ".join(
            (_("“%(declaration)s” by %(author)s: %(reason)s") % {
                "declaration": declaration_label(r.contribution), "author": r.contribution.author.display_name,
                "reason": r.message,
            }) if r.contribution is not None else r.message
            for r in skipped
        )
        level = messages.warning if validated or approved else messages.error
        level(request, ngettext("Skipped %(count)s declaration: %(reasons)s",
                                "Skipped %(count)s declarations: %(reasons)s", len(skipped))
              % {"count": len(skipped), "reasons": reasons})


@require_POST
@role_required(Role.COORDINATOR)
def contributions_validate(request, collective_slug):
    """Validate the declarations ticked in the list; each is checked as if validated alone."""
    form = BatchValidateForm(request.POST)
    back = reverse("contribution_list", args=[collective_slug])
    if not form.is_valid():
        messages.error(request, error_text(form))
        return redirect(back + form.back_query())
    try:
        results = services.contributions_validate(membership=request.membership, ids=form.cleaned_data["ids"])
    except DomainError as error:
        messages.error(request, error_text(error))
    else:
        _batch_messages(request, results)
    return redirect(back + form.back_query())


def _thread_page(request, contribution):
    """The latest COMMENTS_PAGE_SIZE comments (or an older page of them), shown oldest first as a conversation."""
    page = Paginator(selectors.contribution_thread(contribution), COMMENTS_PAGE_SIZE).get_page(
        request.GET.get("comments_page"))
    page.object_list = list(reversed(page.object_list))
    return page


def _detail(request, contribution, *, status=200, **forms):
    membership = request.membership
    is_author = contribution.author_id == request.user.pk
    period_open = contribution.period.status == PeriodStatus.OPEN
    can_review = (membership.has_role(Role.COORDINATOR) and not is_author and period_open
                  and contribution.status in services.DECIDABLE)
    approvers = selectors.contribution_approvers(contribution)
    can_amend = is_author and period_open and contribution.status in services.AMENDABLE
    context = {
        "collective": request.collective,
        "contribution": contribution,
        "payout": getattr(contribution, "payout", None),
        "thread": _thread_page(request, contribution),
        "history": selectors.contribution_history(contribution),
        "approvers": approvers,
        "is_author": is_author,
        "period_open": period_open,
        "can_amend": can_amend,
        "can_withdraw": can_amend,
        "can_review": can_review,
        "can_validate": can_review and contribution.status == ContributionStatus.PENDING
        and request.user not in approvers,
        "question_form": forms.get("question_form") or QuestionForm(),
        "amend_form": (forms.get("amend_form") or DeclarationForm(
            initial=contribution_initial(contribution), collective=request.collective)) if can_amend else None,
        "adjust_form": forms.get("adjust_form") or AdjustForm(initial={"amount": contribution.amount}),
        "reject_form": forms.get("reject_form") or RejectForm(),
    }
    return render(request, "contributions/detail.html", context, status=status)


def contribution_detail(request, collective_slug, contribution_id):
    return _detail(request, _contribution(request, contribution_id))


def _refused(request, contribution, error: DomainError, **forms):
    if isinstance(error, Forbidden):
        raise PermissionDenied from None
    if forms:
        form = next(iter(forms.values()))
        if isinstance(form, DeclarationForm):
            form.add_service_error(error)
        else:
            add_domain_error(form, error)
    else:
        messages.error(request, error_text(error))
    return _detail(request, contribution, status=409 if error.status_code == 409 else 400, **forms)


def contribution_attachment(request, collective_slug, contribution_id):
    """A declaration's attachment, for members of its collective only (declarations are public to them)."""
    contribution = get_object_or_404(Contribution.objects.of(request.collective), pk=contribution_id)
    if not contribution.attachment:
        raise Http404
    try:
        file = contribution.attachment.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    return FileResponse(file, as_attachment=True, filename=contribution.attachment_filename)


@require_POST
def contribution_question(request, collective_slug, contribution_id):
    contribution = _contribution(request, contribution_id)
    form = QuestionForm(request.POST)
    if not form.is_valid():
        return _detail(request, contribution, status=400, question_form=form)
    try:
        services.contribution_question(contribution=contribution, actor=request.user,
                                       comment=form.cleaned_data["comment"])
    except DomainError as error:
        return _refused(request, contribution, error, question_form=form)
    messages.success(request, _("Your comment is posted for everyone to read."))
    return redirect("contribution_detail", collective_slug, contribution.pk)


@require_POST
def contribution_amend(request, collective_slug, contribution_id):
    contribution = _contribution(request, contribution_id)
    if contribution.author_id != request.user.pk:
        raise PermissionDenied
    form = DeclarationForm(request.POST, request.FILES, collective=request.collective)
    if not form.is_valid():
        return _detail(request, contribution, status=400, amend_form=form)
    try:
        services.contribution_amend(contribution=contribution, actor=request.user, changes=form.changes(),
                                    attachment=form.cleaned_data.get("attachment"))
    except DomainError as error:
        return _refused(request, contribution, error, amend_form=form)
    messages.success(request, _("Your declaration is amended."))
    return redirect("contribution_detail", collective_slug, contribution.pk)


@require_POST
def contribution_withdraw(request, collective_slug, contribution_id):
    contribution = _contribution(request, contribution_id)
    try:
        contribution = services.contribution_withdraw(contribution=contribution, actor=request.user)
    except DomainError as error:
        return _refused(request, contribution, error)
    messages.success(request, _("Withdrawn: your declaration no longer requests %(amount)s.") % {
        "amount": format_money(contribution.amount, request.collective.currency)})
    return redirect("contribution_detail", collective_slug, contribution.pk)


@require_POST
@role_required(Role.COORDINATOR)
def contribution_validate(request, collective_slug, contribution_id):
    contribution = _contribution(request, contribution_id)
    try:
        contribution = services.contribution_validate(contribution=contribution, membership=request.membership)
    except DomainError as error:
        return _refused(request, contribution, error)
    if contribution.status == ContributionStatus.VALIDATED:
        messages.success(request, _("The declaration is validated."))
    else:
        messages.success(request, _("Your approval is recorded; more coordinators must approve."))
    return redirect("contribution_detail", collective_slug, contribution.pk)


@require_POST
@role_required(Role.COORDINATOR)
def contribution_adjust(request, collective_slug, contribution_id):
    contribution = _contribution(request, contribution_id)
    form = AdjustForm(request.POST)
    if not form.is_valid():
        return _detail(request, contribution, status=400, adjust_form=form)
    try:
        services.contribution_adjust(contribution=contribution, membership=request.membership, **form.cleaned_data)
    except DomainError as error:
        return _refused(request, contribution, error, adjust_form=form)
    messages.success(request, _("The declaration is adjusted; everyone sees the reason."))
    return redirect("contribution_detail", collective_slug, contribution.pk)


@require_POST
@role_required(Role.COORDINATOR)
def contribution_reject(request, collective_slug, contribution_id):
    contribution = _contribution(request, contribution_id)
    form = RejectForm(request.POST)
    if not form.is_valid():
        return _detail(request, contribution, status=400, reject_form=form)
    try:
        services.contribution_reject(contribution=contribution, membership=request.membership,
                                     reason=form.cleaned_data["reason"])
    except DomainError as error:
        return _refused(request, contribution, error, reject_form=form)
    messages.success(request, _("The declaration is rejected; everyone sees the reason."))
    return redirect("contribution_detail", collective_slug, contribution.pk)


def period_detail(request, collective_slug, period_id):
    period = get_object_or_404(Period.objects.of(request.collective).select_related("budget"), pk=period_id)
    contributions = selectors.with_names(selectors.contributions_of(request.collective, period=period.pk),
                                         request.collective)
    page = Paginator(contributions, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = selectors.payouts_told_their_collective(page.object_list, request.collective)
    return render(request, "contributions/period.html", {
        "collective": request.collective,
        "period": period,
        "gauge": selectors.period_gauge(period),
        "page": page,
        "is_coordinator": request.membership.has_role(Role.COORDINATOR),
    })
