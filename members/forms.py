"""Page forms: they parse input; the services decide and write."""

from zoneinfo import available_timezones

from django import forms
from django.utils.translation import gettext_lazy as _

from contrib_budget.forms import DateField, MultiLineField, SingleLineField

from .audit_labels import audit_action_label
from .models import Collective, Role


def _timezone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(available_timezones())]


class CollectiveCreateForm(forms.Form):
    name = SingleLineField(label=_("Name"), max_length=150)
    slug = forms.SlugField(
        label=_("Short name in addresses"), max_length=60,
        help_text=_("Lowercase letters, digits and dashes, e.g. la-fabrique."),
    )
    currency = SingleLineField(
        label=_("Currency"), max_length=3, min_length=3, initial="EUR",
        help_text=_("ISO 4217 code, e.g. EUR."),
    )
    locale = forms.ChoiceField(label=_("Language"), choices=Collective.Locale.choices, initial=Collective.Locale.FR)
    timezone = forms.ChoiceField(label=_("Time zone"), choices=_timezone_choices, initial="Europe/Paris")
    description = MultiLineField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 4}))

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].strip().upper()


class CollectiveUpdateForm(forms.Form):
    """A coordinator edits the collective; its address (slug) stays as created."""

    name = SingleLineField(label=_("Name"), max_length=150)
    currency = SingleLineField(
        label=_("Currency"), max_length=3, min_length=3,
        help_text=_("ISO 4217 code, e.g. EUR. It cannot change once money has been recorded."),
    )
    locale = forms.ChoiceField(label=_("Language"), choices=Collective.Locale.choices)
    timezone = forms.ChoiceField(label=_("Time zone"), choices=_timezone_choices)
    description = MultiLineField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 4}))

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].strip().upper()


class RolesField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Roles"))
        super().__init__(choices=Role.choices, **kwargs)


class MemberInviteForm(forms.Form):
    email = forms.EmailField(label=_("Email address"))
    roles = RolesField(initial=[Role.MEMBER.value])


class MembershipRolesForm(forms.Form):
    roles = RolesField()


class MemberSearchForm(forms.Form):
    """The members page's search (GET q=): by name, and by email for those who may read the emails."""

    q = SingleLineField(label=_("Search by name"), required=False, max_length=100)

    def __init__(self, *args, by_email: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if by_email:
            self.fields["q"].label = _("Search by name or email")

    def search(self) -> str:
        return self.cleaned_data["q"].strip() if self.is_valid() else ""


class TokenCreateForm(forms.Form):
    name = SingleLineField(
        label=_("Token name"), max_length=100,
        help_text=_("What the token is for, e.g. the name of a script or a tool. A new token replaces your "
                    "token of the same name."),
    )


class AuditFilterForm(forms.Form):
    """The audit log's filters (GET): an action, a person (or the system), a range of days; each one given and
    valid applies."""

    action = forms.ChoiceField(label=_("Action"), required=False)
    person = forms.ChoiceField(label=_("Who"), required=False)
    since = DateField(label=_("From"), required=False,
                      widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    until = DateField(label=_("To"), required=False,
                      widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, *args, actions: list[str], people, **kwargs):
        super().__init__(*args, **kwargs)
        labelled = sorted(((code, audit_action_label(code)) for code in actions), key=lambda choice: choice[1])
        self.fields["action"].choices = [("", _("All actions")), *labelled]
        self.fields["person"].choices = [("", _("Everyone")), ("system", _("the system")),
                                         *((str(person.pk), person.display_name) for person in people)]

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", _("Choose a day on or after the first one."))
        return data

    def filters(self) -> dict:
        """The filters to apply: those given and valid."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        person = data.get("person")
        return {
            "action": data.get("action") or "",
            "actor": person if person == "system" else (int(person) if person else None),
            "since": data.get("since"),
            "until": data.get("until"),
        }
