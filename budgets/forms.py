"""Page forms: they parse input; the services decide and write."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contrib_budget.forms import DateField, MultiLineField, SingleLineField

from .models import MONEY, FundingStatus, LeftoverPolicy, OverspendPolicy, PeriodKind, SourceKind, TaskPriority


def _money_field(label, **kwargs) -> forms.DecimalField:
    return forms.DecimalField(label=label, min_value=0, **MONEY, **kwargs)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class BudgetForm(forms.Form):
    name = SingleLineField(label=_("Name"), max_length=150)
    description = MultiLineField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    period_kind = forms.ChoiceField(label=_("Period"), choices=PeriodKind.choices, initial=PeriodKind.MONTH)
    starts_on = DateField(label=_("Starts on"), widget=DateInput())
    ends_on = DateField(label=_("Ends on"), required=False, widget=DateInput(),
                              help_text=_("Leave empty for a budget without an end."))
    amount_per_period = _money_field(_("Amount per period"), required=False, help_text=_(
        "Leave empty to spread the funds (received and pledged) evenly: each period still open gets the funds "
        "not granted yet divided by the number of periods still open, so money added later is shared by the "
        "periods to come. Without an end date the periods cannot be counted, so each period may use all the "
        "funds not granted yet."))
    overspend_policy = forms.ChoiceField(label=_("When requests exceed the money"), choices=OverspendPolicy.choices)
    leftover_policy = forms.ChoiceField(label=_("Leftover"), choices=LeftoverPolicy.choices)
    allow_custom_rate = forms.BooleanField(label=_("People may set their own rate"), required=False)
    required_approvals = forms.IntegerField(label=_("Coordinator approvals required"), min_value=1, max_value=20,
                                            initial=1)
    auto_close_after_days = forms.IntegerField(
        label=_("Close automatically this many days after a period ends"), min_value=0, max_value=365,
        required=False, initial=7, help_text=_("Leave empty to close by hand only."))


class RateLevelForm(forms.Form):
    id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    name = SingleLineField(label=_("Level"), max_length=100, required=False)
    hourly_rate = _money_field(_("Hourly rate"), required=False)

    def clean(self):
        data = super().clean()
        if data.get("name") and data.get("hourly_rate") is None:
            self.add_error("hourly_rate", _("Give the hourly rate of this level."))
        if data.get("hourly_rate") is not None and not data.get("name"):
            self.add_error("name", _("Name this level."))
        return data


RateGridFormSet = forms.formset_factory(RateLevelForm, extra=2, can_delete=True)


def rate_levels_from(formset) -> list[dict]:
    return [
        {"id": form.cleaned_data.get("id"), "name": form.cleaned_data["name"],
         "hourly_rate": form.cleaned_data["hourly_rate"]}
        for form in formset.forms
        if form.cleaned_data and form.cleaned_data.get("name") and not form.cleaned_data.get("DELETE")
    ]


class FundingForm(forms.Form):
    source = SingleLineField(label=_("Source"), max_length=150, help_text=_("e.g. the region's grant, a client."))
    source_kind = forms.ChoiceField(label=_("Kind of source"),
                                    choices=[c for c in SourceKind.choices if c[0] != SourceKind.CORRECTION])
    amount = _money_field(_("Amount"))
    status = forms.ChoiceField(label=_("Status"), choices=FundingStatus.choices, widget=forms.RadioSelect,
                               initial=FundingStatus.RECEIVED)
    received_on = DateField(label=_("Received on"), required=False, widget=DateInput(),
                                  help_text=_("Defaults to today for received money."))


class EnvelopeForm(forms.Form):
    name = SingleLineField(label=_("Name"), max_length=150)
    description = MultiLineField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    amount = _money_field(_("Amount"))


class TaskForm(forms.Form):
    """A task added to one envelope: the budget page shows this form in each envelope's card."""

    envelope = forms.IntegerField(label=_("Envelope"), widget=forms.HiddenInput)
    title = SingleLineField(label=_("Title"), max_length=200)
    description = MultiLineField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    priority = forms.TypedChoiceField(label=_("Priority"), choices=TaskPriority.choices, coerce=int,
                                      initial=TaskPriority.NORMAL)


class DecisionForm(forms.Form):
    KINDS = [
        ("pro_rata", _("Share pro rata")),
        ("amounts", _("Set an amount per declaration")),
        ("top_up", _("Add a top-up funding that covers the gap")),
    ]
    kind = forms.ChoiceField(label=_("Decision"), choices=KINDS, widget=forms.RadioSelect, initial="pro_rata")
    note = MultiLineField(label=_("Why (shown to everyone)"), required=False, max_length=500, widget=forms.TextInput)
    top_up_amount = _money_field(_("Top-up amount"), required=False)
    top_up_source = SingleLineField(label=_("Top-up source"), required=False, max_length=150)
    top_up_status = forms.ChoiceField(label=_("Top-up status"), choices=FundingStatus.choices,
                                      initial=FundingStatus.RECEIVED)

    def __init__(self, *args, requests=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.request_ids = []
        for contribution in requests:
            name = f"amount_{contribution.pk}"
            self.request_ids.append(contribution.pk)
            self.fields[name] = _money_field(
                _("%(author)s — %(description)s") % {"author": contribution.author.display_name,
                                                      "description": contribution.description[:60]},
                required=False)

    def amount_fields(self):
        return [self[f"amount_{pk}"] for pk in self.request_ids]

    def decision(self) -> dict:
        data = self.cleaned_data
        kind = data["kind"]
        if kind == "amounts":
            return {"kind": kind, "note": data.get("note") or "",
                    "amounts": {str(pk): data.get(f"amount_{pk}") if data.get(f"amount_{pk}") is not None else "0"
                                for pk in self.request_ids}}
        if kind == "top_up":
            decision = {"kind": kind, "source": data.get("top_up_source") or "", "status": data["top_up_status"]}
            if data.get("top_up_amount") is not None:
                decision["amount"] = data["top_up_amount"]
            return decision
        return {"kind": kind}


class MarkPaidForm(forms.Form):
    paid_on = DateField(label=_("Paid on"), widget=DateInput(), initial=timezone.localdate)
    reference = SingleLineField(label=_("Reference"), required=False, max_length=100,
                                help_text=_("e.g. the bank transfer's reference."))
    payouts = forms.TypedMultipleChoiceField(label=_("Payouts"), coerce=int, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, payout_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["payouts"].choices = [(pk, pk) for pk in payout_ids]


class ReverseForm(forms.Form):
    reason = MultiLineField(label=_("Reason"), max_length=1000)


class CorrectForm(ReverseForm):
    amount = _money_field(_("Amount paid too much"))
