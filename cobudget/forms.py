import re
from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from budgets.models import MONEY
from contrib_budget.forms import DateField, DateTimeField, MultiLineField, SingleLineField
from contrib_budget.money import MAX_ALLOCATION, MAX_BUCKET_GOAL, MAX_ENVELOPE, format_money
from members.forms import PersonField
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


# People are typed (name or email, suggested as one types), never picked in a list of every member: a form
# offers this many typed inputs beside the people it already holds.
TYPED_PEOPLE = 3
ENVELOPE_FIELD = re.compile(r"^envelope_(\d+)$")


def members_of(collective):
    ids = Membership.objects.of(collective).values("user_id")
    return get_user_model().objects.filter(pk__in=ids).order_by("name", "email")


def person_field(collective, people, *, label, by_email: bool = True) -> PersonField:
    """A typed person among `people` (users), suggested by the members search as one types."""
    field = PersonField(label=label, required=False, people=people, by_email=by_email,
                        help_text=_("Type a name or an email address, then pick the person."))
    field.widget.suggest_url = reverse("member_search", args=[collective.slug])
    return field


def posted_ids(data, name: str) -> set[int]:
    """The ids a form posted under `name` (a bounded list: what one request carries)."""
    values = data.getlist(name) if hasattr(data, "getlist") else data.get(name) or []
    return {int(value) for value in ([values] if isinstance(values, str) else values) if str(value).isdigit()}


def typed_people(form, names: list[str]) -> list:
    """The people typed in `names` that cleaned to one person, in order, each once."""
    found = []
    for name in names:
        person = form.cleaned_data.get(name)
        if person is not None and person not in found:
            found.append(person)
    return found


def show_only(field, people) -> None:
    """Offer `people` alone as the field's boxes; the field still accepts any of its queryset (typed, posted)."""
    field.widget.choices = [(person.pk, person.display_name) for person in people]


def envelope_field(label, initial=None) -> forms.DecimalField:
    field = forms.DecimalField(label=label, required=False, min_value=0, max_value=MAX_ENVELOPE, initial=initial,
                               **MONEY)
    field.widget.attrs["inputmode"] = "decimal"
    return field


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
            "participants": _("Untick to leave someone out, type a name below to add someone. Nobody: every "
                              "holder of the member role when the round opens."),
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
        members = members_of(collective)
        self.fields["participants"].queryset = members
        chosen = posted_ids(self.data, "participants") if self.is_bound else set()
        if self.instance.pk:
            chosen |= set(self.instance.participants.values_list("pk", flat=True))
        show_only(self.fields["participants"], members.filter(pk__in=chosen) if chosen else [])
        self.fields["funded_from_pool"].help_text = _(
            "Instead of new money: what earlier rounds returned to the pool. It holds %(amount)s now."
        ) % {"amount": format_money(pool_balance(collective), collective.currency)}
        envelopes = self.instance.manual_envelopes or {}
        self.manual_names = []
        for person in self._envelope_people(members, envelopes):
            name = f"envelope_{person.pk}"
            self.fields[name] = envelope_field(person.display_name, initial=envelopes.get(str(person.pk)))
            self.manual_names.append((person.pk, name))
        self.locked = self._lock_fields()
        self.participants_added, self.envelopes_added = [], []
        if not self.locked:
            self._add_typed_fields(members)

    def _envelope_people(self, members, envelopes: dict) -> list:
        """Whom the table of envelopes has a row for: those given one, and those a sent form names."""
        pks = {int(key) for key in envelopes if str(key).isdigit()}
        pks |= {int(match.group(1)) for key in self.data if (match := ENVELOPE_FIELD.match(key))}
        return list(members.filter(pk__in=pks)) if pks else []

    def _add_typed_fields(self, members) -> None:
        """Typed additions: participants, and people given an envelope (a person and an amount)."""
        for number in range(1, TYPED_PEOPLE + 1):
            name = f"add_participant_{number}"
            self.fields[name] = person_field(self.collective, members, label=_("Add a participant"))
            self.participants_added.append(name)
            person, amount = f"envelope_person_{number}", f"envelope_amount_{number}"
            self.fields[person] = person_field(self.collective, members, label=_("Member"))
            self.fields[amount] = envelope_field(_("Envelope"))
            self.envelopes_added.append((person, amount))

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
        self._check_typed_envelopes(cleaned)
        self._ignore_unused(cleaned)
        return cleaned

    def _check_typed_envelopes(self, cleaned: dict) -> None:
        for person, amount in self.envelopes_added:
            if cleaned.get(person) is None and cleaned.get(amount) is not None and person not in self.errors:
                self.add_error(person, _("Type the member this envelope goes to."))
            if cleaned.get(person) is not None and cleaned.get(amount) is None and amount not in self.errors:
                self.add_error(amount, _("Give this member an amount, or clear the row."))

    def _unused(self, policy) -> list[str]:
        """The fields of the envelope policies other than `policy`."""
        names = []
        for name, policies in POLICY_FIELDS.items():
            if policy in policies:
                continue
            if name == MANUAL:
                names += [field for _pk, field in self.manual_names]
                names += [field for row in self.envelopes_added for field in row]
            else:
                names += [name, *self.participants_added] if name == "participants" else [name]
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

    def participant_additions(self) -> list:
        return [self[name] for name in self.participants_added]

    def envelope_additions(self) -> list[tuple]:
        return [(self[person], self[amount]) for person, amount in self.envelopes_added]

    @property
    def manual_shown_when(self) -> tuple[str, str]:
        return SHOWN_WHEN[MANUAL][0], " ".join(SHOWN_WHEN[MANUAL][1])

    def service_fields(self) -> dict:
        data = {name: self.cleaned_data[name] for name in ROUND_FORM_FIELDS if name in self.cleaned_data}
        participants = list(data.get("participants") or [])
        participants += [person for person in typed_people(self, self.participants_added) if person not in participants]
        data["participants"] = participants
        data[MANUAL] = {str(pk): str(self.cleaned_data[name]) for pk, name in self.manual_names
                        if self.cleaned_data.get(name) is not None}
        for person, amount in self.envelopes_added:
            if self.cleaned_data.get(person) is not None and self.cleaned_data.get(amount) is not None:
                data[MANUAL][str(self.cleaned_data[person].pk)] = str(self.cleaned_data[amount])
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
        widget=forms.CheckboxSelectMultiple,
        help_text=_("You carry it; type the people who carry it with you, untick those who no longer do."),
    )

    def __init__(self, *args, collective, author=None, by_email: bool = True, **kwargs):
        """`author`: the person filling the form when they carry the bucket; they are not offered as a co-carrier
        (they carry it whatever they tick). The boxes are the carriers already chosen; others are typed
        (`by_email`: whether the reader may find people by their email)."""
        super().__init__(*args, **kwargs)
        people = members_of(collective)
        if author:
            people = people.exclude(pk=author.pk)
        carriers = self.fields["carriers"]
        carriers.queryset = people
        chosen = {person.pk for person in self.initial.get("carriers", [])}
        chosen |= posted_ids(self.data, "carriers") if self.is_bound else set()
        show_only(carriers, people.filter(pk__in=chosen) if chosen else [])
        self.carriers_added = []
        for number in range(1, TYPED_PEOPLE + 1):
            name = f"add_carrier_{number}"
            self.fields[name] = person_field(collective, people, label=_("Add a carrier"), by_email=by_email)
            self.carriers_added.append(name)
        if author is None:
            carriers.label = _("Carriers")
            carriers.help_text = _("Type the people who carry it, untick those who no longer do.")
        self.fields["image"].help_text = _("JPEG, PNG, GIF or WebP, at most %(mb)s MB.") % {
            "mb": BUCKET_IMAGE_MAX_BYTES // 2**20}

    def clean(self):
        cleaned = super().clean()
        carriers = list(cleaned.get("carriers") or [])
        cleaned["carriers"] = carriers + [person for person in typed_people(self, self.carriers_added)
                                          if person not in carriers]
        return cleaned

    def carrier_additions(self) -> list:
        return [self[name] for name in self.carriers_added]


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


class ResolveFlagForm(forms.Form):
    resolution = MultiLineField(label=_("How it was resolved"), max_length=2000,
                                widget=forms.Textarea(attrs={"rows": 2}))


class EnvelopeForm(forms.Form):
    budget = forms.ModelChoiceField(label=_("Budget"), queryset=None, required=False,
                                    empty_label=_("— a new budget —"))
    new_budget_name = SingleLineField(label=_("Name of the new budget"), max_length=150, required=False)

    def __init__(self, *args, collective, **kwargs):
        from budgets.models import Budget

        super().__init__(*args, **kwargs)
        self.fields["budget"].queryset = Budget.objects.of(collective)
