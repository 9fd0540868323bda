"""The cobudget's forms, and the people fields they share with the round's set-up (cobudget/round_form.py)."""

from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from budgets.models import MONEY
from contrib_budget.forms import MultiLineField, SingleLineField
from contrib_budget.money import MAX_ALLOCATION, MAX_BUCKET_GOAL, MAX_ENVELOPE
from members.forms import PersonField
from members.models import Membership

from .models import BUCKET_IMAGE_MAX_BYTES, BUCKET_IMAGE_VALIDATORS

# People are typed (name or email, suggested as one types), never picked in a list of every member: a form
# offers this many typed inputs beside the people it already holds.
TYPED_PEOPLE = 3


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


class SupportForm(forms.Form):
    """A participant's support of a bucket in an Equal Shares round: 1 unless the round allows scores."""

    score = forms.IntegerField(label=_("Score"), required=False, min_value=1, max_value=5)
