from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from budgets.models import MONEY
from contrib_budget.forms import DateField, DateTimeField, MultiLineField, SingleLineField
from contrib_budget.money import MAX_ALLOCATION, MAX_BUCKET_GOAL, MAX_ENVELOPE, format_money
from members.models import Membership

from .models import BUCKET_IMAGE_MAX_BYTES, BUCKET_IMAGE_VALIDATORS, EnvelopePolicy, PartialPolicy, Round, RoundStatus
from .selectors import pool_balance
from .services import ROUND_FIELDS_WHILE_OPEN

ROUND_FORM_FIELDS = [
    "name", "description", "guidelines", "proposals_open_at", "proposals_close_at", "funding_opens_at",
    "funding_closes_at", "envelope_policy", "envelope_amount", "weight_from", "weight_to", "envelope_floor",
    "envelope_cap", "participants", "max_per_member_per_bucket", "allow_retract", "hide_allocations_until_close",
    "bucket_approval_required", "min_carriers", "partial_policy", "partial_threshold_percent", "leftover_policy",
    "overallocation_mode", "funded_from_pool",
]
# The set-up page in sections; the envelopes section ends with the table of envelopes set per member.
ROUND_SECTIONS = [
    ("basics", _("Basics"), ["name", "description", "guidelines"]),
    ("envelopes", _("Envelopes"), ["envelope_policy", "envelope_amount", "weight_from", "weight_to", "envelope_floor",
                                   "envelope_cap", "participants", "funded_from_pool"]),
    ("rules", _("Rules"), ["max_per_member_per_bucket", "overallocation_mode", "allow_retract",
                           "hide_allocations_until_close", "bucket_approval_required", "min_carriers",
                           "partial_policy", "partial_threshold_percent", "leftover_policy"]),
    ("dates", _("Dates"), ["proposals_open_at", "proposals_close_at", "funding_opens_at", "funding_closes_at"]),
]
MANUAL = "manual_envelopes"
# The envelope policies a field serves. The page hides the others' fields (static/js/cobudget.js); without
# JavaScript they all show, and the server clears (draft) or keeps (open) those the chosen policy does not use.
POLICY_FIELDS = {
    "envelope_amount": (EnvelopePolicy.EQUAL, EnvelopePolicy.WEIGHTED),
    "participants": (EnvelopePolicy.EQUAL, EnvelopePolicy.WEIGHTED),
    "weight_from": (EnvelopePolicy.WEIGHTED,), "weight_to": (EnvelopePolicy.WEIGHTED,),
    "envelope_floor": (EnvelopePolicy.WEIGHTED,), "envelope_cap": (EnvelopePolicy.WEIGHTED,),
    MANUAL: (EnvelopePolicy.MANUAL,),
}
CLEARED = {"participants": []}  # what an unused field is cleared to (None for the others)
# Fields shown only for some value of another field: the threshold only matters when partial buckets are accepted.
SHOWN_WHEN = {name: ("envelope_policy", policies) for name, policies in POLICY_FIELDS.items()}
SHOWN_WHEN["partial_threshold_percent"] = ("partial_policy", (PartialPolicy.ACCEPT,))
LOCK_REASONS = {
    "envelopes": _("Locked since the round opened: the wallets were credited with these envelopes."),
    "rules": _("Locked since the round opened: members give under these rules."),
    "dates": _("“Funding opens at” is locked since the round opened: funding may already have started."),
}


def members_of(collective):
    ids = Membership.objects.of(collective).values("user_id")
    return get_user_model().objects.filter(pk__in=ids).order_by("name", "email")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def format_value(self, value):
        return value.strftime("%Y-%m-%dT%H:%M") if hasattr(value, "strftime") else value


class RoundForm(forms.ModelForm):
    """A round's set-up. Once the round is open, its money rules are locked: their fields are disabled, each
    with its reason, and a changed value (a form left open while the round opened, a crafted request) reaches
    the service, which refuses it naming the field, rather than being dropped while the page says "saved"."""

    class Meta:
        model = Round
        fields = ROUND_FORM_FIELDS
        widgets = {
            "proposals_open_at": DateTimeInput(), "proposals_close_at": DateTimeInput(),
            "funding_opens_at": DateTimeInput(), "funding_closes_at": DateTimeInput(),
            "weight_from": forms.DateInput(attrs={"type": "date"}),
            "weight_to": forms.DateInput(attrs={"type": "date"}),
            "participants": forms.CheckboxSelectMultiple, "description": forms.Textarea(attrs={"rows": 3}),
            "guidelines": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "participants": _("None ticked: every holder of the member role when the round opens."),
            "envelope_amount": _("The same amount for everyone: each participant's envelope. Weighted: the total "
                                 "shared out among the participants."),
        }
        field_classes = {
            "name": SingleLineField, "description": MultiLineField, "guidelines": MultiLineField,
            "proposals_open_at": DateTimeField, "proposals_close_at": DateTimeField,
            "funding_opens_at": DateTimeField, "funding_closes_at": DateTimeField,
            "weight_from": DateField, "weight_to": DateField,
        }

    def __init__(self, *args, collective, **kwargs):
        super().__init__(*args, **kwargs)
        self.collective = collective
        people = list(members_of(collective))
        self.fields["participants"].queryset = members_of(collective)
        self.fields["participants"].label_from_instance = lambda user: user.display_name
        self.fields["funded_from_pool"].help_text = _(
            "Instead of new money: what earlier rounds returned to the pool. It holds %(amount)s now."
        ) % {"amount": format_money(pool_balance(collective), collective.currency)}
        envelopes = self.instance.manual_envelopes or {}
        self.manual_names = []
        for person in people:
            name = f"envelope_{person.pk}"
            self.fields[name] = forms.DecimalField(label=person.display_name, required=False, min_value=0,
                                                   max_value=MAX_ENVELOPE, initial=envelopes.get(str(person.pk)),
                                                   **MONEY)
            self.fields[name].widget.attrs["inputmode"] = "decimal"
            self.manual_names.append((person.pk, name))
        self.locked = self._lock_fields()

    def _lock_fields(self) -> set[str]:
        """Disable what can no longer change, each field with its reason."""
        if self.instance.status in (None, "", RoundStatus.DRAFT):
            return set()
        locked = set()
        sections = [(key, [*names, *(name for _pk, name in self.manual_names)] if key == "envelopes" else names)
                    for key, _legend, names in ROUND_SECTIONS]
        for key, names in sections:
            for name in names:
                if name not in ROUND_FIELDS_WHILE_OPEN:
                    self.fields[name].disabled = True
                    self.fields[name].lock_reason = LOCK_REASONS[key]
                    self.fields[name].widget.attrs["aria-describedby"] = f"lock-{key}"
                    locked.add(name)
        return locked

    def _sent(self, name: str) -> bool:
        """Whether the request carries a value for a locked field. A disabled input is never sent, unless the
        page was loaded while the round was still a draft: then every field was on it (an unticked box sends
        nothing), and each counts as sent."""
        return self.data.get("status_seen") == RoundStatus.DRAFT or name in self.data

    def clean(self):
        cleaned = super().clean()
        for name in sorted(self.locked):
            if self._sent(name):
                field = self.fields[name]
                try:
                    cleaned[name] = field.clean(field.widget.value_from_datadict(self.data, self.files,
                                                                                 self.add_prefix(name)))
                except forms.ValidationError as error:
                    self.add_error(name, error)
        self._ignore_unused(cleaned)
        return cleaned

    def _unused(self, policy) -> list[str]:
        """The fields of the envelope policies other than `policy`."""
        names = []
        for name, policies in POLICY_FIELDS.items():
            if policy not in policies:
                names += [field for _pk, field in self.manual_names] if name == MANUAL else [name]
        return names

    def _ignore_unused(self, cleaned: dict) -> None:
        """What was typed in the other policies' fields (all shown without JavaScript) is neither checked nor
        kept: cleared while the round is a draft; once it is open the policy is locked and they stay as they are."""
        if cleaned.get("envelope_policy") is None:
            return
        for name in self._unused(cleaned["envelope_policy"]):
            self._errors.pop(name, None)
            if name not in self.locked:
                cleaned[name] = CLEARED.get(name)

    def sections(self) -> list[dict]:
        """The fields by section, each knowing when it shows (`shown_when`: the field and its values)."""
        result = []
        for key, legend, names in ROUND_SECTIONS:
            fields = []
            for name in names:
                bound = self[name]
                when = SHOWN_WHEN.get(name)
                bound.shown_when = (when[0], " ".join(when[1])) if when else None
                fields.append(bound)
            result.append({"key": key, "legend": legend, "fields": fields,
                           "lock_reason": LOCK_REASONS.get(key) if self.locked & set(names) else ""})
        return result

    def manual_fields(self) -> list:
        return [self[name] for _pk, name in self.manual_names]

    @property
    def manual_shown_when(self) -> tuple[str, str]:
        return SHOWN_WHEN[MANUAL][0], " ".join(SHOWN_WHEN[MANUAL][1])

    def service_fields(self) -> dict:
        data = {name: self.cleaned_data[name] for name in ROUND_FORM_FIELDS if name in self.cleaned_data}
        data["participants"] = list(data.get("participants") or [])
        data[MANUAL] = {str(pk): str(self.cleaned_data[name]) for pk, name in self.manual_names
                        if self.cleaned_data.get(name) is not None}
        if self.locked:  # the policy is locked: the fields it does not use are left as they are
            policy = data["envelope_policy"]
            data = {name: value for name, value in data.items()
                    if name not in POLICY_FIELDS or policy in POLICY_FIELDS[name]}
        return data


class BucketForm(forms.Form):
    title = SingleLineField(label=_("Title"), max_length=150)
    description = MultiLineField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 5}))
    image = forms.FileField(label=_("Image"), required=False, validators=BUCKET_IMAGE_VALIDATORS)
    carriers = forms.ModelMultipleChoiceField(
        label=_("Co-carriers"), queryset=get_user_model().objects.none(), required=False,
        widget=forms.CheckboxSelectMultiple, help_text=_("You carry it; tick the people who carry it with you."),
    )

    def __init__(self, *args, collective, author=None, **kwargs):
        """`author`: the person filling the form when they carry the bucket; they are not offered as a co-carrier
        (they carry it whatever they tick)."""
        super().__init__(*args, **kwargs)
        people = members_of(collective)
        self.fields["carriers"].queryset = people.exclude(pk=author.pk) if author else people
        self.fields["carriers"].label_from_instance = lambda user: user.display_name
        if author is None:
            self.fields["carriers"].label = _("Carriers")
            self.fields["carriers"].help_text = _("Tick the people who carry it.")
        self.fields["image"].help_text = _("JPEG, PNG, GIF or WebP, at most %(mb)s MB.") % {
            "mb": BUCKET_IMAGE_MAX_BYTES // 2**20}


class LineForm(forms.Form):
    description = SingleLineField(label=_("Budget line"), max_length=200, required=False)
    min_amount = forms.DecimalField(label=_("Minimum"), required=False, min_value=Decimal("0.01"),
                                    max_value=MAX_BUCKET_GOAL, **MONEY)
    max_amount = forms.DecimalField(label=_("Maximum (optional)"), required=False, min_value=Decimal("0.01"),
                                    max_value=MAX_BUCKET_GOAL, **MONEY)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("min_amount", "max_amount"):
            self.fields[name].widget.attrs["inputmode"] = "decimal"

    def clean(self):
        """A line with words or a maximum but no minimum is a mistake to show, not a line to drop."""
        cleaned = super().clean()
        minimum, maximum = cleaned.get("min_amount"), cleaned.get("max_amount")
        if minimum is None and "min_amount" not in self.errors and (cleaned.get("description") or maximum):
            self.add_error("min_amount", _("Give this line a minimum, or clear the line."))
        if minimum is not None and maximum is not None and maximum < minimum:
            self.add_error("max_amount", _("At least the minimum."))
        return cleaned


LineFormSet = forms.formset_factory(LineForm, extra=3, max_num=20)


class AllocateForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount"), min_value=Decimal("0.01"), max_value=MAX_ALLOCATION, **MONEY)
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
