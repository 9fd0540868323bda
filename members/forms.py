"""Page forms: they parse input; the services decide and write."""

from zoneinfo import available_timezones

from django import forms
from django.utils.translation import gettext_lazy as _

from contrib_budget.forms import DateField, DayRangeForm, MultiLineField, SingleLineField
from contrib_budget.text import parse_id

from . import selectors
from .audit_labels import audit_action_label
from .bank import BIC_TYPED_MAX, IBAN_TYPED_MAX
from .models import HOLDER_MAX, Collective, PaymentMethod, Role, User


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
    bank_iban = SingleLineField(label=_("IBAN of the collective's account"), required=False,
                                max_length=IBAN_TYPED_MAX,
                                help_text=_("The account payouts are paid from, named in the transfer files."))
    bank_bic = SingleLineField(label=_("BIC"), required=False, max_length=BIC_TYPED_MAX,
                               help_text=_("Found from the IBAN when the bank is known; leave it empty then."))
    bank_holder = SingleLineField(label=_("Account holder"), required=False, max_length=HOLDER_MAX)

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].strip().upper()


class BankDetailsForm(forms.Form):
    """How I am paid in a collective; members.bank checks the IBAN and what each way of being paid needs."""

    method = forms.ChoiceField(label=_("I am paid"), choices=PaymentMethod.choices, widget=forms.RadioSelect)
    iban = SingleLineField(label=_("IBAN"), required=False, max_length=IBAN_TYPED_MAX,
                           widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
                           help_text=_("Spaces and lower case are fine, e.g. FR76 3000 6000 0112 3456 7890 189."))
    holder = SingleLineField(label=_("Account holder"), required=False, max_length=HOLDER_MAX,
                             help_text=_("The name the account is in."))
    bic = SingleLineField(label=_("BIC"), required=False, max_length=BIC_TYPED_MAX,
                          help_text=_("Found from the IBAN when the bank is known; leave it empty then."))
    payroll_reference = SingleLineField(label=_("Payroll reference"), required=False, max_length=100,
                                        help_text=_("When you are paid through payroll or your activity account: "
                                                    "your employee number or the reference your cooperative gave "
                                                    "you."))


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


# A person as a picker names them: "Name <email>" (a name of 150 characters, an address of 254).
PERSON_TEXT_MAX = 150 + 254 + 3


class MemberSearchForm(forms.Form):
    """The members page's search (GET q=): by name, and by email for those who may read the emails."""

    q = SingleLineField(label=_("Search by name"), required=False, max_length=PERSON_TEXT_MAX)

    def __init__(self, *args, by_email: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if by_email:
            self.fields["q"].label = _("Search by name or email")

    def search(self) -> str:
        return self.cleaned_data["q"].strip() if self.is_valid() else ""


def person_suggestion(user: User, *, by_email: bool) -> str:
    """How a suggestion names a person in a picker: "Name <email>" for those who may read the emails (exactly one
    person), the name alone for the others."""
    return f"{user.display_name} <{user.email}>" if by_email else user.display_name


class PersonInput(forms.TextInput):
    """A text input that suggests people as one types: static/js/person_picker.js fills its datalist from
    `suggest_url` (?q=). Without script, the typed text is resolved when the form is sent."""

    template_name = "members/widgets/person_input.html"

    def __init__(self, attrs=None, suggest_url: str = ""):
        super().__init__({"autocomplete": "off", "spellcheck": "false", **(attrs or {})})
        self.suggest_url = suggest_url

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget_attrs = context["widget"]["attrs"]
        widget_attrs["data-person-picker"] = ""
        widget_attrs["data-suggest-url"] = self.suggest_url
        widget_attrs["list"] = f"{widget_attrs.get('id', name)}-suggestions"
        return context


class PersonField(SingleLineField):
    """Someone among `people` (users, or rows pointing to them through `user`, e.g. "user__" for memberships),
    typed by name or email, picked among the suggestions, or given by id (links, scripts): it cleans to exactly
    one of them, or to the value of a `keywords` word (e.g. "system"), else to a clear error."""

    widget = PersonInput
    default_error_messages = {
        "none": _("No member matches “%(typed)s”."),
        "several": _("Several members match “%(typed)s”: be more precise, e.g. type their email address."),
    }

    def __init__(self, *, people=None, by_email: bool = True, user: str = "", keywords: dict | None = None,
                 **kwargs):
        kwargs.setdefault("max_length", PERSON_TEXT_MAX)
        super().__init__(**kwargs)
        self.people = people
        self.by_email = by_email
        self.user = user
        self.keywords = keywords or {}

    def clean(self, value):
        typed = super().clean(value)
        if not typed:
            return None
        keyword = {str(word).casefold(): meaning for word, meaning in self.keywords.items()}.get(typed.casefold())
        if keyword is not None:
            return keyword
        by_id = parse_id(typed)
        if by_id is not None and (person := self.people.filter(pk=by_id).first()) is not None:
            return person
        found = selectors.people_designated(self.people, typed, by_email=self.by_email, user=self.user)
        if not found:
            raise forms.ValidationError(self.error_messages["none"], code="none", params={"typed": typed})
        if len(found) > 1:
            raise forms.ValidationError(self.error_messages["several"], code="several", params={"typed": typed})
        return found[0]


class TokenCreateForm(forms.Form):
    name = SingleLineField(
        label=_("Token name"), max_length=100,
        help_text=_("What the token is for, e.g. the name of a script or a tool. A new token replaces your "
                    "token of the same name."),
    )


class AuditFilterForm(DayRangeForm):
    """The audit log's filters (GET): an action, a person (or the system), a range of days; each one given and
    valid applies. The person is searched among those who did something the log may name (`people`), never
    listed whole."""

    action = forms.ChoiceField(label=_("Action"), required=False)
    person = PersonField(
        label=_("Who"), required=False,
        help_text=_("A name or an email address, or “the system”."),
        error_messages={"none": _("Nobody who did something in this log matches “%(typed)s”.")},
    )
    since = DateField(label=_("From"), required=False,
                      widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    until = DateField(label=_("To"), required=False,
                      widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, *args, actions: list[str], people, suggest_url: str, **kwargs):
        super().__init__(*args, **kwargs)
        labelled = sorted(((code, audit_action_label(code)) for code in actions), key=lambda choice: choice[1])
        self.fields["action"].choices = [("", _("All actions")), *labelled]
        person = self.fields["person"]
        person.people = people
        person.keywords = {"system": "system", _("the system"): "system"}
        person.widget.suggest_url = suggest_url

    def filters(self) -> dict:
        """The filters to apply: those given and valid."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        person = data.get("person")
        return {
            "action": data.get("action") or "",
            "actor": person if person in (None, "system") else person.pk,
            "since": data.get("since"),
            "until": data.get("until"),
        }
