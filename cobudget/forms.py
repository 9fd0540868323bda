from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from budgets.models import MONEY
from contrib_budget.forms import DateField, DateTimeField, MultiLineField, SingleLineField
from contrib_budget.money import format_money
from members.models import Membership

from .models import BUCKET_IMAGE_MAX_BYTES, BUCKET_IMAGE_VALIDATORS, Round
from .selectors import pool_balance

ROUND_FORM_FIELDS = [
    "name", "description", "guidelines", "proposals_open_at", "proposals_close_at", "funding_opens_at",
    "funding_closes_at", "envelope_policy", "envelope_amount", "weight_from", "weight_to", "envelope_floor",
    "envelope_cap", "participants", "max_per_member_per_bucket", "allow_retract", "hide_allocations_until_close",
    "bucket_approval_required", "min_carriers", "partial_policy", "partial_threshold_percent", "leftover_policy",
    "overallocation_mode", "funded_from_pool",
]


def members_of(collective):
    ids = Membership.objects.of(collective).values("user_id")
    return get_user_model().objects.filter(pk__in=ids).order_by("name", "email")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def format_value(self, value):
        return value.strftime("%Y-%m-%dT%H:%M") if hasattr(value, "strftime") else value


class RoundForm(forms.ModelForm):
    # One line of about 40 characters per member: room for a thousand members.
    manual_envelopes_text = MultiLineField(
        label=_("Envelope per member"), required=False, max_length=50_000, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("For envelopes set per member: one line per member, “email amount”."),
    )

    class Meta:
        model = Round
        fields = ROUND_FORM_FIELDS
        widgets = {
            "proposals_open_at": DateTimeInput(), "proposals_close_at": DateTimeInput(),
            "funding_opens_at": DateTimeInput(), "funding_closes_at": DateTimeInput(),
            "weight_from": forms.DateInput(attrs={"type": "date"}), "weight_to": forms.DateInput(attrs={"type": "date"}),
            "participants": forms.CheckboxSelectMultiple, "description": forms.Textarea(attrs={"rows": 3}),
            "guidelines": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {"participants": _("None ticked: every holder of the member role when the round opens.")}
        field_classes = {
            "name": SingleLineField, "description": MultiLineField, "guidelines": MultiLineField,
            "proposals_open_at": DateTimeField, "proposals_close_at": DateTimeField,
            "funding_opens_at": DateTimeField, "funding_closes_at": DateTimeField,
            "weight_from": DateField, "weight_to": DateField,
        }

    def __init__(self, *args, collective, **kwargs):
        super().__init__(*args, **kwargs)
        self.collective = collective
        people = members_of(collective)
        self.fields["participants"].queryset = people
        self.fields["participants"].label_from_instance = lambda user: user.display_name
        self.fields["funded_from_pool"].help_text = _(
            "Instead of new money: what earlier rounds returned to the pool. It holds %(amount)s now."
        ) % {"amount": format_money(pool_balance(collective), collective.currency)}
        if self.instance.pk and self.instance.manual_envelopes:
            emails = dict(people.values_list("pk", "email"))
            self.initial["manual_envelopes_text"] = "\n".join(
                f"{emails.get(int(uid), uid)} {amount}" for uid, amount in self.instance.manual_envelopes.items())

    def clean_manual_envelopes_text(self):
        envelopes = {}
        by_email = {email.lower(): pk for pk, email in members_of(self.collective).values_list("pk", "email")}
        for number, line in enumerate(self.cleaned_data["manual_envelopes_text"].splitlines(), start=1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 2 or parts[0].lower() not in by_email:
                raise forms.ValidationError(_("Line %(n)s: write a member's email and an amount.") % {"n": number})
            try:
                envelopes[str(by_email[parts[0].lower()])] = str(Decimal(parts[1].replace(",", ".")))
            except ArithmeticError:
                raise forms.ValidationError(_("Line %(n)s: the amount is not a number.") % {"n": number}) from None
        return envelopes

    def service_fields(self) -> dict:
        data = {name: self.cleaned_data[name] for name in ROUND_FORM_FIELDS if name in self.cleaned_data}
        data["participants"] = list(data.get("participants") or [])
        data["manual_envelopes"] = self.cleaned_data.get("manual_envelopes_text") or {}
        return data


class BucketForm(forms.Form):
    title = SingleLineField(label=_("Title"), max_length=150)
    description = MultiLineField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 5}))
    image = forms.FileField(label=_("Image"), required=False, validators=BUCKET_IMAGE_VALIDATORS)
    carriers = forms.ModelMultipleChoiceField(
        label=_("Co-carriers"), queryset=get_user_model().objects.none(), required=False,
        widget=forms.CheckboxSelectMultiple, help_text=_("You carry it; tick the people who carry it with you."),
    )

    def __init__(self, *args, collective, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["carriers"].queryset = members_of(collective)
        self.fields["carriers"].label_from_instance = lambda user: user.display_name
        self.fields["image"].help_text = _("JPEG, PNG, GIF or WebP, at most %(mb)s MB.") % {
            "mb": BUCKET_IMAGE_MAX_BYTES // 2**20}


class LineForm(forms.Form):
    description = SingleLineField(label=_("Budget line"), max_length=200, required=False)
    min_amount = forms.DecimalField(label=_("Minimum"), required=False, **MONEY)
    max_amount = forms.DecimalField(label=_("Maximum (optional)"), required=False, **MONEY)


LineFormSet = forms.formset_factory(LineForm, extra=3, max_num=20)


class AllocateForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount"), min_value=Decimal("0.01"), **MONEY)
    round = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


class CommentForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=[("comment", _("Comment")), ("question", _("Question"))])
    body = MultiLineField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 3}))


class FlagForm(forms.Form):
    reason = MultiLineField(label=_("Which guideline, and why"), max_length=2000,
                            widget=forms.Textarea(attrs={"rows": 2}))


class EnvelopeForm(forms.Form):
    budget = forms.ModelChoiceField(label=_("Budget"), queryset=None, required=False,
                                    empty_label=_("— a new budget —"))
    new_budget_name = SingleLineField(label=_("Name of the new budget"), max_length=150, required=False)

    def __init__(self, *args, collective, **kwargs):
        from budgets.models import Budget

        super().__init__(*args, **kwargs)
        self.fields["budget"].queryset = Budget.objects.of(collective)
