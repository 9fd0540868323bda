"""Forms of the accounting pages: the period filter, export requests, the chart of accounts."""

from django import forms
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from budgets.models import AccountKind, Budget
from cobudget.models import Round
from contrib_budget.forms import DateField, SingleLineField
from members.forms import PersonField
from members.models import Membership

from .models import AccountingSettings, ExportFormat, ExportKind


class DateInput(forms.DateInput):
    input_type = "date"


class PeriodFilterForm(forms.Form):
    start = DateField(label=_("From"), required=False, widget=DateInput)
    end = DateField(label=_("To"), required=False, widget=DateInput)
    budget = forms.ModelChoiceField(label=_("Budget"), queryset=Budget.objects.none(), required=False,
                                    empty_label=_("All budgets"))
    round = forms.ModelChoiceField(label=_("Cobudget round"), queryset=Round.objects.none(), required=False,
                                   empty_label=_("All rounds"))

    def __init__(self, *args, collective, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["budget"].queryset = Budget.objects.of(collective)
        self.fields["round"].queryset = Round.objects.of(collective)

    def params(self) -> dict:
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "from": data["start"].isoformat() if data["start"] else None,
            "to": data["end"].isoformat() if data["end"] else None,
            "budget": data["budget"].pk if data.get("budget") else None,
            "round": data["round"].pk if data.get("round") else None,
        }


class ExportRequestForm(PeriodFilterForm):
    kind = forms.ChoiceField(label=_("Export"), choices=ExportKind.choices)
    format = forms.ChoiceField(label=_("Format"), choices=ExportFormat.choices)
    delimiter = forms.ChoiceField(
        label=_("CSV delimiter"), required=False,
        choices=[(",", _("comma (,)")), (";", _("semicolon (;), decimal comma: French spreadsheets"))],
    )
    separator = forms.ChoiceField(label=_("FEC separator"), required=False,
                                  choices=[("tab", _("tab")), ("pipe", _("pipe (|)"))])

    def export_params(self) -> dict:
        params = self.params()
        params["delimiter"] = self.cleaned_data.get("delimiter") or ","
        params["separator"] = self.cleaned_data.get("separator") or "tab"
        return params


class ChartForm(forms.Form):
    """One account number and label per kind of ledger account."""

    def __init__(self, *args, chart: dict[str, tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        for kind, label in AccountKind.choices:
            number, account_label = chart[kind]
            self.fields[f"number_{kind}"] = SingleLineField(label=label, max_length=20, initial=number)
            self.fields[f"label_{kind}"] = SingleLineField(label=_("Label"), max_length=100, initial=account_label)

    def rows(self):
        for kind, label in AccountKind.choices:
            yield label, self[f"number_{kind}"], self[f"label_{kind}"]

    def mapping(self) -> dict[str, tuple[str, str]]:
        return {kind: (self.cleaned_data[f"number_{kind}"], self.cleaned_data[f"label_{kind}"])
                for kind in AccountKind.values}


class AccountingSettingsForm(forms.ModelForm):
    class Meta:
        model = AccountingSettings
        fields = ["siren", "fiscal_year_start_month", "journal_code", "journal_label"]
        field_classes = {"siren": SingleLineField, "journal_code": SingleLineField, "journal_label": SingleLineField}


class BankStatementForm(forms.Form):
    file = forms.FileField(label=_("Bank CSV of transfers"),
                           help_text=_("Columns: date, amount, reference (or their French names). Only outgoing "
                                       "transfers count: negative amounts in an amount column, or the amounts of a "
                                       "debit column. Amounts like -1 234,56 or -1,234.56, at most two decimals."))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        raw = upload.read(5_000_000 + 1)
        if len(raw) > 5_000_000:
            raise forms.ValidationError(_("The file is too large (5 MB at most)."))
        for encoding in ("utf-8-sig", "cp1252"):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError:
                continue
        raise forms.ValidationError(_("The file cannot be read as text."))

    def text(self) -> str:
        return self.cleaned_data["file"]


class PersonalStatementForm(forms.Form):
    """Whose statement, for which year. The person is typed (name or email) or picked among the suggestions,
    never chosen in a list of every member; `membership` stays the field's name, and an id still designates one."""

    membership = PersonField(label=_("Person"), user="user__",
                             help_text=_("Type a name or an email address, then pick the person."))
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)

    def __init__(self, *args, collective, **kwargs):
        super().__init__(*args, **kwargs)
        person = self.fields["membership"]
        person.people = Membership.objects.of(collective).select_related("user")
        person.widget.suggest_url = reverse("member_search", args=[collective.slug])
        self.fields["year"].initial = timezone.localdate().year
