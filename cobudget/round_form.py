"""A round's set-up page: its sections, the fields each mode and envelope policy use, and what is locked once
the round is open."""

import re

from django import forms
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext_lazy as _

from contrib_budget.forms import DateField, DateTimeField, MultiLineField, SingleLineField
from contrib_budget.money import MAX_FUNDING, format_money

from .forms import TYPED_PEOPLE, envelope_field, members_of, person_field, posted_ids, show_only, typed_people
from .models import EnvelopePolicy, PartialPolicy, Round, RoundMode, RoundStatus
from .selectors import pool_balance
from .services import ROUND_FIELDS_WHILE_OPEN

ROUND_FORM_FIELDS = [
    "name", "description", "guidelines", "proposals_open_at", "proposals_close_at", "funding_opens_at",
    "funding_closes_at", "envelope_policy", "envelope_amount", "weight_from", "weight_to", "envelope_floor",
    "envelope_cap", "participants", "max_per_member_per_bucket", "allow_retract", "hide_allocations_until_close",
    "bucket_approval_required", "min_carriers", "partial_policy", "partial_threshold_percent", "leftover_policy",
    "overallocation_mode", "funded_from_pool", "mode", "total_amount", "allow_scores", "mes_completion", "tie_rule",
    "redistribution_hours", "redistribute_unspent",
]
# The set-up page in sections; the envelopes section ends with the table of envelopes set per member.
ROUND_SECTIONS = [
    ("basics", _("Basics"), ["name", "description", "guidelines"]),
    ("mode", _("How members take part"), ["mode", "total_amount", "allow_scores", "mes_completion", "tie_rule"]),
    ("envelopes", _("Envelopes"), ["envelope_policy", "envelope_amount", "weight_from", "weight_to", "envelope_floor",
                                   "envelope_cap", "participants", "funded_from_pool"]),
    ("rules", _("Rules"), ["max_per_member_per_bucket", "overallocation_mode", "allow_retract",
                           "hide_allocations_until_close", "bucket_approval_required", "min_carriers",
                           "partial_policy", "partial_threshold_percent", "redistribution_hours",
                           "redistribute_unspent", "leftover_policy"]),
    ("dates", _("Dates"), ["proposals_open_at", "proposals_close_at", "funding_opens_at", "funding_closes_at"]),
]
MANUAL = "manual_envelopes"
ENVELOPE_FIELD = re.compile(r"^envelope_(\d+)$")
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
# What only one mode uses. An Equal Shares round has no envelopes and nobody gives: the envelope policy, its
# fields and the giving rules are hidden (and ignored) in it; a live round has no total to share.
EQUAL_SHARES_ONLY = ("total_amount", "allow_scores", "mes_completion", "tie_rule")
LIVE_ONLY = ("envelope_policy", *(name for name in POLICY_FIELDS if name != "participants"),
             "max_per_member_per_bucket", "overallocation_mode", "allow_retract", "hide_allocations_until_close",
             "partial_policy", "partial_threshold_percent", "redistribution_hours", "redistribute_unspent",
             "leftover_policy")
# Fields shown only for some value of another field: the threshold only matters when partial buckets are accepted.
SHOWN_WHEN = {name: ("envelope_policy", policies) for name, policies in POLICY_FIELDS.items()}
SHOWN_WHEN["partial_threshold_percent"] = ("partial_policy", (PartialPolicy.ACCEPT,))
# The second window only comes with the policy that redistributes.
SHOWN_WHEN.update(dict.fromkeys(("redistribution_hours", "redistribute_unspent"),
                                ("partial_policy", (PartialPolicy.REDISTRIBUTE,))))
SHOWN_WHEN.update(dict.fromkeys(EQUAL_SHARES_ONLY, ("mode", (RoundMode.EQUAL_SHARES,))))
# Participants take part in either mode: in a live round only with the policies that list them.
SHOWN_WHEN["participants"] = ("envelope_policy mode", (EnvelopePolicy.EQUAL, EnvelopePolicy.WEIGHTED,
                                                       RoundMode.EQUAL_SHARES))
LOCK_REASONS = {
    "mode": _("Locked since the round opened: members take part this way."),
    "envelopes": _("Locked since the round opened: the wallets were credited with these envelopes."),
    "rules": _("Locked since the round opened: members give under these rules."),
    "dates": _("“Funding opens at” is locked since the round opened: funding may already have started."),
}


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
            "guidelines": forms.Textarea(attrs={"rows": 3}), "mode": forms.RadioSelect,
        }
        help_texts = {
            "participants": _("Untick to leave someone out, type a name below to add someone. Nobody: every "
                              "holder of the member role when the round opens."),
            "envelope_amount": _("The same amount for everyone: each participant's envelope. Weighted: the total "
                                 "shared out among the participants."),
            "total_amount": _("Set aside when the round opens; at the close, the Method of Equal Shares gives each "
                              "participant an equal part of it to pay for the buckets they support."),
            "mes_completion": _("What the method does with the money its plain rule leaves unspent."),
            "redistribution_hours": _("After the first close, how long the funders have to give what came back to "
                                      "them to buckets still open and not yet full."),
            "redistribute_unspent": _("Unticked: what the wallets hold at the first close leaves them then, as "
                                      "at the final close."),
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
        self.fields["total_amount"].validators.append(MaxValueValidator(MAX_FUNDING))
        # A form that names no mode (sent before rounds had one) keeps the round's: live for a new one.
        self.fields["mode"].required = False
        # Only a round that redistributes uses it: left empty (or sent by a form without it), the round's stays.
        self.fields["redistribution_hours"].required = False
        self.fields["total_amount"].widget.attrs["inputmode"] = "decimal"
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
        if cleaned.get("redistribution_hours") is None and "redistribution_hours" not in self.errors:
            cleaned["redistribution_hours"] = self.instance.redistribution_hours
        return cleaned

    def _check_typed_envelopes(self, cleaned: dict) -> None:
        for person, amount in self.envelopes_added:
            if cleaned.get(person) is None and cleaned.get(amount) is not None and person not in self.errors:
                self.add_error(person, _("Type the member this envelope goes to."))
            if cleaned.get(person) is not None and cleaned.get(amount) is None and amount not in self.errors:
                self.add_error(amount, _("Give this member an amount, or clear the row."))

    def _other_mode(self, mode) -> list[str]:
        """The fields only the other mode uses (a typed envelope row counts as the envelopes set per member)."""
        if mode != RoundMode.EQUAL_SHARES:
            return list(EQUAL_SHARES_ONLY)
        names = [name for name in LIVE_ONLY if name != MANUAL]
        names += [field for _pk, field in self.manual_names]
        return names + [field for row in self.envelopes_added for field in row]

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
        """What was typed in the fields of the other mode or of the other envelope policies (all shown without
        JavaScript) is neither checked nor kept: cleared while the round is a draft (the other mode's to the
        model's defaults); once it is open, the mode and the policy are locked and they stay as they are."""
        mode = cleaned["mode"] = cleaned.get("mode") or self.instance.mode or RoundMode.LIVE
        for name in self._other_mode(mode):
            self._errors.pop(name, None)
            if name not in self.locked:
                cleaned[name] = Round._meta.get_field(name).get_default() if name in ROUND_FORM_FIELDS else None
        if mode == RoundMode.EQUAL_SHARES or cleaned.get("envelope_policy") is None:
            return
        for name in self._unused(cleaned["envelope_policy"]):
            self._errors.pop(name, None)
            if name not in self.locked:
                cleaned[name] = CLEARED.get(name)

    def sections(self) -> list[dict]:
        """The fields by section, each knowing when it shows (`shown_when`: the fields and their values, any
        of which shows it; `live_only`: and only in a live round)."""
        result = []
        for key, legend, names in ROUND_SECTIONS:
            fields = []
            for name in names:
                bound = self[name]
                when = SHOWN_WHEN.get(name)
                bound.shown_when = (when[0], " ".join(when[1])) if when else None
                bound.live_only = name in LIVE_ONLY
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


