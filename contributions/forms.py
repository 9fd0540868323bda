"""Page forms for declarations: they parse input; the services decide and write."""

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from budgets.models import MONEY
from contrib_budget.errors import DomainError
from contrib_budget.forms import DateField, DayRangeForm, MultiLineField, SingleLineField, add_domain_error
from contrib_budget.money import MAX_DECLARATION, format_rate
from contrib_budget.text import parse_id
from members.forms import PersonField

from . import selectors, services
from .models import ATTACHMENT_EXTENSIONS, ATTACHMENT_VALIDATORS, Contribution, ContributionStatus, ValueMode

MAX_HOURS = services.MAX_MINUTES // 60


class DataSelect(forms.Select):
    """A select whose options carry data-* attributes, for the form's few lines of script."""

    def __init__(self, *args, option_data: dict[str, dict] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.option_data = option_data or {}

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex=subindex, attrs=attrs)
        option["attrs"].update(self.option_data.get(str(value), {}))
        return option


class DeclarationForm(forms.Form):
    """One screen: date, budget, mission or task, what, time, value. Only the budgets open to declarations (a
    period still open), their envelopes and their tasks to do are offered."""

    description = MultiLineField(
        label=_("What did you do?"), max_length=5000,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off", "enterkeyhint": "send"}),
    )
    performed_on = DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    budget = forms.ModelChoiceField(label=_("Budget"), queryset=None, empty_label=None)
    work = forms.ChoiceField(label=_("Mission or task"), required=False)
    hours = forms.IntegerField(
        label=_("Hours"), min_value=0, max_value=MAX_HOURS, initial=0,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0, "max": MAX_HOURS}),
    )
    minutes = forms.IntegerField(
        label=_("Minutes"), min_value=0, max_value=59, initial=0,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0, "max": 59, "step": 5}),
    )
    value_mode = forms.ChoiceField(
        label=_("Value"), choices=ValueMode.choices, initial=ValueMode.TIME_RATE, widget=forms.RadioSelect,
    )
    rate_level = forms.ModelChoiceField(label=_("Rate level"), queryset=None, required=False)
    hourly_rate = forms.DecimalField(
        label=_("My hourly rate"), required=False, min_value=0, **MONEY,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01", "min": 0}),
    )
    amount = forms.DecimalField(
        label=_("Amount requested"), required=False, min_value=0, max_value=MAX_DECLARATION, **MONEY,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01", "min": 0}),
    )
    attachment = forms.FileField(
        label=_("Attachment (optional)"), required=False, validators=ATTACHMENT_VALIDATORS,
        help_text=_("PDF, image, office document or text; 10 MB at most."),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(f".{ext}" for ext in ATTACHMENT_EXTENSIONS)}),
    )

    def __init__(self, *args, collective, **kwargs):
        super().__init__(*args, **kwargs)
        self.collective = collective
        budgets = list(selectors.budgets_open(collective))
        self.fields["budget"].widget = DataSelect(option_data={
            str(b.pk): {"data-custom-rate": "1" if b.allow_custom_rate else "0"} for b in budgets
        })
        self.fields["budget"].queryset = selectors.budgets_open(collective)
        levels = list(selectors.rate_levels_open(collective))
        self.fields["rate_level"].widget = DataSelect(option_data={
            str(level.pk): {"data-budget": str(level.budget_id), "data-rate": str(level.hourly_rate)}
            for level in levels
        })
        self.fields["rate_level"].queryset = selectors.rate_levels_open(collective)
        self.fields["rate_level"].label_from_instance = lambda level: (
            f"{level.name} ({format_rate(level.hourly_rate, collective.currency)})")
        envelopes = list(selectors.envelopes_open(collective))
        tasks = list(selectors.tasks_open(collective))
        self.envelopes = {f"e{e.pk}": e for e in envelopes}
        self.tasks = {f"t{t.pk}": t for t in tasks}
        choices, data = [("", _("— none —"))], {}
        for envelope in envelopes:
            choices.append((f"e{envelope.pk}", envelope.name))
            data[f"e{envelope.pk}"] = {"data-budget": str(envelope.budget_id)}
            for task in (t for t in tasks if t.envelope_id == envelope.pk):
                choices.append((f"t{task.pk}", f"{envelope.name} › {task.title}"))
                data[f"t{task.pk}"] = {"data-budget": str(envelope.budget_id)}
        self.fields["work"].choices = choices
        self.fields["work"].widget = DataSelect(choices=choices, option_data=data)

    def declaration(self) -> services.Declaration:
        data = self.cleaned_data
        work = data.get("work") or ""
        return services.Declaration(
            budget=data["budget"],
            envelope=self.envelopes[work] if work in self.envelopes else None,
            task=self.tasks[work] if work in self.tasks else None,
            performed_on=data["performed_on"],
            description=data["description"],
            minutes=data["hours"] * 60 + data["minutes"],
            value_mode=data["value_mode"],
            rate_level=data.get("rate_level"),
            hourly_rate=data.get("hourly_rate") if data.get("rate_level") is None else None,
            amount=data.get("amount"),
        )

    def changes(self) -> dict:
        """The declaration as amendments of an existing one."""
        declaration = self.declaration()
        return {name: getattr(declaration, name) for name in services.Declaration.__dataclass_fields__}

    def add_service_error(self, error: DomainError) -> None:
        fields = {("work" if name in ("envelope", "task") else name): messages
                  for name, messages in error.fields.items()}
        add_domain_error(self, DomainError(error.message, error.code, fields=fields))


def declaration_initial(*, collective, user) -> dict:
    """Today, the budget and rate level I used last: what I most likely declare again."""
    initial = {"performed_on": timezone.localdate(), "hours": 1, "minutes": 0, "value_mode": ValueMode.TIME_RATE}
    last = selectors.last_declaration_of(collective, user)
    if last is not None:
        initial.update(budget=last.budget_id, value_mode=last.value_mode, rate_level=last.rate_level_id)
        if last.rate_level_id is None and last.hourly_rate is not None:
            initial["hourly_rate"] = last.hourly_rate
        return initial
    first_level = selectors.rate_levels_of(collective).filter(budget__in=selectors.budgets_open(collective)[:1]).first()
    if first_level is not None:
        initial.update(budget=first_level.budget_id, rate_level=first_level.pk)
    return initial


def contribution_initial(contribution: Contribution) -> dict:
    work = f"t{contribution.task_id}" if contribution.task_id else (
        f"e{contribution.envelope_id}" if contribution.envelope_id else "")
    return {
        "description": contribution.description, "performed_on": contribution.performed_on,
        "budget": contribution.budget_id, "work": work,
        "hours": contribution.minutes // 60, "minutes": contribution.minutes % 60,
        "value_mode": contribution.value_mode, "rate_level": contribution.rate_level_id,
        "hourly_rate": contribution.hourly_rate if contribution.rate_level_id is None else None,
        "amount": contribution.amount,
    }


class QuestionForm(forms.Form):
    comment = MultiLineField(
        label=_("Your question or comment"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )


class AdjustForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Adjusted amount"), min_value=0, max_value=MAX_DECLARATION, **MONEY,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01", "min": 0}),
    )
    reason = MultiLineField(label=_("Reason (everyone will read it)"), max_length=2000,
                            widget=forms.Textarea(attrs={"rows": 2}))


class RejectForm(forms.Form):
    reason = MultiLineField(label=_("Reason (everyone will read it)"), max_length=2000,
                            widget=forms.Textarea(attrs={"rows": 2}))


# The list's query parameters: its filters and its page.
LIST_PARAMETERS = ("budget", "person", "since", "until", "period", "status", "page")


class ListFilterForm(DayRangeForm):
    """The list's filters (GET); each one given and valid applies. Nothing here lists what grows: the person is
    typed (suggested as one types), the days are a range, and a period, given by a link, is a hidden value."""

    budget = forms.ModelChoiceField(label=_("Budget"), queryset=None, required=False, empty_label=_("All budgets"))
    person = PersonField(label=_("Who"), required=False,
                         error_messages={"none": _("Nobody who declared here matches “%(typed)s”.")})
    since = DateField(label=_("Work done from"), required=False,
                      widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    until = DateField(label=_("To"), required=False,
                      widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    period = forms.ModelChoiceField(queryset=None, required=False, widget=forms.HiddenInput)
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("All statuses")), *ContributionStatus.choices])

    def __init__(self, *args, collective, suggest_url: str, by_email: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["budget"].queryset = selectors.budgets_of(collective)
        self.fields["period"].queryset = selectors.periods_of(collective)
        person = self.fields["person"]
        person.people = selectors.authors_of(collective)
        person.by_email = by_email
        person.widget.suggest_url = suggest_url

    def filters(self) -> dict:
        """The filters to apply: those given and valid."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "budget": data["budget"].pk if data.get("budget") else None,
            "period": data["period"].pk if data.get("period") else None,
            "status": data.get("status") or None,
            "author": data["person"].pk if data.get("person") else None,
            "since": data.get("since"),
            "until": data.get("until"),
        }


class IdListField(forms.Field):
    """Ids of objects ticked in a list (several inputs of one name)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[int]:
        ids = [parse_id(item) for item in value or []]
        if None in ids:
            raise ValidationError(_("Choose declarations from the list."), code="invalid")
        return ids


class BatchValidateForm(forms.Form):
    """The declarations a reviewer ticked in the pending list, and the list's filters to go back to."""

    ids = IdListField(error_messages={"required": _("Tick at least one declaration to validate.")})
    query = SingleLineField(required=False, max_length=1000)

    def back_query(self) -> str:
        """The list's query string, re-encoded: only filters of the list can come back from it."""
        query = QueryDict(self.data.get("query", "")[:1000]).copy()
        kept = {name: query.getlist(name) for name in LIST_PARAMETERS if name in query}
        encoded = QueryDict(mutable=True)
        for name, values in kept.items():
            encoded.setlist(name, values)
        return f"?{encoded.urlencode()}" if kept else ""
