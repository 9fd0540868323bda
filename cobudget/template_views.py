"""Pages of recurring rounds: save a round as a template, the templates and their schedule, make the next round
now, and keep a bucket for the next round (thin: services.recurring does the work). What the round and bucket pages
show of them comes from cobudget/templatetags/cobudget_recurring.py."""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from contrib_budget.errors import DomainError
from contrib_budget.forms import DateField, SingleLineField, add_domain_error, error_text
from contrib_budget.tenancy import collective_object_or_404, role_required
from members.models import Role

from . import services
from .models import Round, RoundSchedule, RoundStatus, RoundTemplate
from .services.recurring import MAX_FUNDING_DAYS
from .views import bucket_of, round_of

TEMPLATES_PER_PAGE = 25
ROUNDS_SHOWN = 12


class TemplateForm(forms.Form):
    name = SingleLineField(label=gettext_lazy("Name"), max_length=150)
    schedule = forms.ChoiceField(
        label=gettext_lazy("Schedule"), choices=RoundSchedule.choices, initial=RoundSchedule.NONE,
        help_text=gettext_lazy("On a schedule, the next round is made and opened on its date, with envelopes from "
                               "the cobudget pool."))
    next_occurrence = DateField(
        label=gettext_lazy("Next round on"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy("Empty: one period from today."))
    funding_days = forms.IntegerField(label=gettext_lazy("Days of funding"), min_value=1, max_value=MAX_FUNDING_DAYS,
                                      initial=14)
    participant_roles = forms.MultipleChoiceField(
        label=gettext_lazy("Who takes part"), choices=Role.choices, initial=[Role.MEMBER.value],
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("The holders of these roles when each round is made."))


class RunForm(forms.Form):
    occurrence = DateField(label=gettext_lazy("The round stands for"), required=False,
                           widget=forms.DateInput(attrs={"type": "date"}), help_text=gettext_lazy("Empty: today."))


def _template(request, round_template_id) -> RoundTemplate:
    return collective_object_or_404(request, RoundTemplate.objects.of(request.collective), round_template_id)


def _template_url(request, template: RoundTemplate) -> str:
    return reverse("cobudget_template", args=[request.collective.slug, template.pk])


def template_list(request, collective_slug):
    templates = RoundTemplate.objects.of(request.collective).order_by("name", "id")
    page = Paginator(templates, TEMPLATES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "cobudget/template_list.html", {
        "templates": page.object_list, "page": page,
        "is_coordinator": request.membership.has_role(Role.COORDINATOR),
    })


@role_required(Role.COORDINATOR)
def template_save(request, collective_slug, round_id):
    round = round_of(request, round_id)
    form = TemplateForm(request.POST or None, initial={"name": round.name})
    if request.method == "POST" and form.is_valid():
        try:
            template = services.round_template_save(round=round, actor=request.user, **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("“%(name)s” is saved as a template.") % {"name": template.name})
            return redirect(_template_url(request, template))
    return render(request, "cobudget/template_form.html", {"form": form, "round": round}, status=400
                  if form.errors else 200)


@role_required(Role.COORDINATOR)
def template_edit(request, collective_slug, round_template_id):
    template = _template(request, round_template_id)
    initial = {"name": template.name, "schedule": template.schedule, "funding_days": template.funding_days,
               "participant_roles": template.participant_roles, "next_occurrence": template.next_occurrence}
    form = TemplateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.round_template_update(template=template, actor=request.user, **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("The template is saved."))
            return redirect(_template_url(request, template))
    rounds = Round.objects.of(request.collective).filter(template=template).order_by("-occurrence", "-created_at")
    return render(request, "cobudget/template_edit.html", {
        "template": template, "form": form, "run_form": RunForm(initial={"occurrence": timezone.localdate()}),
        "rounds": rounds[:ROUNDS_SHOWN], "rounds_count": rounds.count(),
        "delete_question": _("Delete the template “%(name)s”? Its rounds stay; no round will be made from it any "
                             "more.") % {"name": template.name},
    }, status=400 if form.errors else 200)


@require_POST
@role_required(Role.COORDINATOR)
def template_run(request, collective_slug, round_template_id):
    template = _template(request, round_template_id)
    form = RunForm(request.POST)
    if not form.is_valid():
        messages.error(request, error_text(form))
        return redirect(_template_url(request, template))
    try:
        round, made = services.round_from_template(
            template=template, occurrence=form.cleaned_data["occurrence"] or timezone.localdate(), actor=request.user)
    except DomainError as error:
        messages.error(request, error_text(error))
        return redirect(_template_url(request, template))
    if not made:
        messages.info(request, _("This round was already made: here it is."))
    elif round.status == RoundStatus.DRAFT:
        messages.warning(request, _("The round is made but stays in draft: it could not open (is the cobudget pool "
                                    "enough for its envelopes?). Check it, then open it."))
    else:
        messages.success(request, _("The round is made and open: its participants are told."))
    return redirect("cobudget_round", request.collective.slug, round.pk)


@require_POST
@role_required(Role.COORDINATOR)
def template_delete(request, collective_slug, round_template_id):
    template = _template(request, round_template_id)
    services.round_template_delete(template=template, actor=request.user)
    messages.success(request, _("The template “%(name)s” is deleted.") % {"name": template.name})
    return redirect("cobudget_templates", request.collective.slug)


@require_POST
def bucket_carry_over(request, collective_slug, bucket_id):
    bucket = bucket_of(request, bucket_id)
    keep = request.POST.get("keep") == "1"
    try:
        services.bucket_carry_over(bucket=bucket, actor=request.user, keep=keep)
    except DomainError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, _("If it ends unfunded, this bucket will be proposed again in the next round.")
                         if keep else _("This bucket will not be carried over to the next round."))
    return redirect(reverse("cobudget_bucket", args=[request.collective.slug, bucket.pk]) + "#carry-over")
