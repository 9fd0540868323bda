"""What members do to a bucket from its pages: give to it (or support it, in an Equal Shares round), move it
along, comment, flag, hand it over."""


from django.contrib import messages
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from contrib_budget.errors import DomainError
from contrib_budget.forms import add_domain_error, error_text
from contrib_budget.tenancy import role_required
from members.models import Role

from . import delegation_views, outcomes, selectors, services
from .forms import AllocateForm, CommentForm, EnvelopeForm, ResolveFlagForm, SupportForm
from .models import Bucket, BucketFlag, BucketStatus
from .permissions import RESOLVE_FLAGS
from .views import bucket_of, posted_id, round_context


def _back(request, bucket: Bucket):
    """Back to the page the form was on, at the bucket (its card on the round page, its box on its own)."""
    target = request.POST.get("next", "")
    if not target.startswith(f"/c/{request.collective.slug}/"):
        target = reverse("cobudget_bucket", args=[request.collective.slug, bucket.pk])
    return redirect(f"{target.split('#')[0]}#bucket-{bucket.pk}")


def _give_box(request, bucket: Bucket, level: str, text: str):
    """The answer to a give or take-back sent by htmx: the bucket's box, swapped in place with the outcome in
    it, and the wallet out of band, so the page stays where the reader is."""
    bucket = bucket_of(request, bucket.pk)
    context = round_context(request, bucket.round, [bucket])
    context.update({"bucket": context["buckets"][0], "outcome": {"level": level, "text": text},
                    "next": request.POST.get("next", "")})
    return render(request, "cobudget/_give_response.html", context)


@require_POST
def bucket_allocate(request, collective_slug, bucket_id):
    bucket = bucket_of(request, bucket_id)
    form = AllocateForm(request.POST)
    if not form.is_valid() and "round" in form.errors:
        return HttpResponseBadRequest(_("The round must be given by its id."))
    if not form.is_valid():
        level, text = "error", _("Enter an amount above zero, with at most two decimal places.")
    else:
        amount = form.cleaned_data["amount"]
        if request.POST.get("direction") == "retract":
            amount = -amount
        try:
            result = services.allocation_create(bucket=bucket, actor=request.user, amount=amount,
                                                round_id=form.cleaned_data["round"],
                                                on_behalf_of=delegation_views.posted_owner(request))
        except DomainError as error:
            level, text = "error", error_text(error)
        else:
            level, text = ("warning" if result.trimmed else "success"), result.message
    if request.htmx:
        return _give_box(request, bucket, level, text)
    messages.add_message(request, {"error": messages.ERROR, "warning": messages.WARNING,
                                   "success": messages.SUCCESS}[level], text)
    return _back(request, bucket)


@require_POST
def bucket_support(request, collective_slug, bucket_id):
    """Support the bucket in an Equal Shares round, or change the score given (1 when the form sends none)."""
    bucket = bucket_of(request, bucket_id)
    form = SupportForm(request.POST)
    try:
        if not form.is_valid():
            raise DomainError(_("Give a score from 1 to 5."), "invalid_score")
        score = form.cleaned_data["score"] or 1
        services.bucket_support(bucket=bucket, actor=request.user, score=score)
    except DomainError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, _("You support “%(bucket)s” with a score of %(score)s.") % {
            "bucket": bucket.title, "score": score} if bucket.round.allow_scores
            else _("You support “%(bucket)s”.") % {"bucket": bucket.title})
    return _back(request, bucket)


@require_POST
def bucket_support_withdraw(request, collective_slug, bucket_id):
    bucket = bucket_of(request, bucket_id)
    try:
        services.bucket_support_withdraw(bucket=bucket, actor=request.user)
    except DomainError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, _("You no longer support “%(bucket)s”.") % {"bucket": bucket.title})
    return _back(request, bucket)


@require_POST
def bucket_action(request, collective_slug, bucket_id, name):
    bucket = bucket_of(request, bucket_id)
    actions = {
        "propose": lambda: services.bucket_propose(bucket=bucket, actor=request.user),
        "approve": lambda: services.bucket_approve(bucket=bucket, actor=request.user),
        "cancel": lambda: services.bucket_cancel(bucket=bucket, actor=request.user),
        "complete": lambda: services.bucket_complete(bucket=bucket, actor=request.user),
        "merge": lambda: services.bucket_merge(
            bucket=bucket, actor=request.user,
            into=bucket_of(request, posted_id(request, "into"))),
    }
    if name not in actions:
        raise Http404
    try:
        result = actions[name]()
    except DomainError as error:
        messages.error(request, error_text(error))
        return redirect("cobudget_bucket", request.collective.slug, bucket.pk)
    messages.success(request, _action_outcome(name, result))
    return redirect("cobudget_bucket", request.collective.slug, result.pk)


def _action_outcome(name: str, bucket: Bucket) -> str:
    if name == "merge":
        return outcomes.bucket_merged_outcome(bucket)
    if name == "cancel":
        return outcomes.bucket_cancelled_outcome(bucket)
    if name == "complete":
        return _("“%(bucket)s” is marked completed.") % {"bucket": bucket.title}
    if bucket.status == BucketStatus.PROPOSED:
        return _("“%(bucket)s” is proposed: a coordinator approves it before it opens for funding.") % {
            "bucket": bucket.title}
    return _("“%(bucket)s” is open for funding.") % {"bucket": bucket.title}


@require_POST
def bucket_comment(request, collective_slug, bucket_id):
    bucket = bucket_of(request, bucket_id)
    form = CommentForm(request.POST)
    try:
        if not form.is_valid():
            raise DomainError(error_text(form) if form.data.get("body", "").strip() else _("Write something first."),
                              "invalid")
        services.bucket_comment(bucket=bucket, actor=request.user, **form.cleaned_data)
    except DomainError as error:
        messages.error(request, error_text(error))
    return redirect(reverse("cobudget_bucket", args=[request.collective.slug, bucket.pk]) + "#comments")


@require_POST
def bucket_flag(request, collective_slug, bucket_id):
    bucket = bucket_of(request, bucket_id)
    try:
        services.bucket_flag(bucket=bucket, actor=request.user, reason=request.POST.get("reason", ""))
        messages.success(request, _("Your flag is recorded; the carriers and coordinators can see it."))
    except DomainError as error:
        messages.error(request, error_text(error))
    return redirect(reverse("cobudget_bucket", args=[request.collective.slug, bucket.pk]) + "#flags")


@require_POST
@role_required(*RESOLVE_FLAGS.roles)
def bucket_flag_resolve(request, collective_slug, bucket_flag_id):
    flag = get_object_or_404(BucketFlag.objects.of(request.collective), pk=bucket_flag_id)
    form = ResolveFlagForm(request.POST)
    try:
        if not form.is_valid():
            raise DomainError(error_text(form), "invalid")
        services.bucket_flag_resolve(flag=flag, actor=request.user, **form.cleaned_data)
        messages.success(request, _("The flag is resolved."))
    except DomainError as error:
        messages.error(request, error_text(error))
    return redirect(reverse("cobudget_bucket", args=[request.collective.slug, flag.bucket_id]) + "#flags")


@role_required(Role.COORDINATOR)
def bucket_envelope(request, collective_slug, bucket_id):
    bucket = bucket_of(request, bucket_id)
    form = EnvelopeForm(request.POST or None, collective=request.collective)
    if request.method == "POST" and form.is_valid():
        try:
            envelope = services.bucket_to_envelope(
                bucket=bucket, actor=request.user, budget=form.cleaned_data["budget"],
                new_budget_name=form.cleaned_data["new_budget_name"] or bucket.title)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("“%(bucket)s” is now an envelope of the budget %(budget)s.")
                             % {"bucket": bucket.title, "budget": envelope.budget.name})
            return redirect("cobudget_round_results", request.collective.slug, bucket.round_id)
    return render(request, "cobudget/bucket_envelope.html", {"form": form, "bucket": bucket,
                                                             "funded": selectors.bucket_funded_amount(bucket)})
