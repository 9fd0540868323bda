"""Forms of the accounting pages: the period filter, export requests, the chart of accounts."""

from django import forms
from django.utils.translation import gettext_lazy as _

from budgets.models import AccountKind, Budget

from .models import AccountingSettings, ExportFormat, ExportKind


class DateInput(forms.DateInput):
    input_type = "date"


class PeriodFilterForm(forms.Form):
    start = forms.DateField(label=_("From"), required=False, widget=DateInput)
    end = forms.DateField(label=_("To"), required=False, widget=DateInput)
    budget = forms.ModelChoiceField(label=_("Budget"), queryset=Budget.objects.none(), required=False,
                                    empty_label=_("All budgets"))

    def __init__(self, *args, collective, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["budget"].queryset = Budget.objects.of(collective)
        round_choices = _round_choices(collective)
        if round_choices:
            self.fields["round"] = forms.TypedChoiceField(
                label=_("Cobudget round"), choices=[("", _("All rounds")), *round_choices], required=False,
                coerce=int, empty_value=None,
            )

    def params(self) -> dict:
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "from": data["start"].isoformat() if data["start"] else None,
            "to": data["end"].isoformat() if data["end"] else None,
            "budget": data["budget"].pk if data.get("budget") else None,
            "round": data.get("round"),
        }


def _round_choices(collective) -> list[tuple[int, str]]:
    from django.apps import apps

    if not apps.is_installed("cobudget") or "round" not in apps.get_app_config("cobudget").models:
        return []
    Round = apps.get_model("cobudget", "Round")
    return [(r.pk, r.name) for r in Round.objects.of(collective).order_by("-id")]


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
            self.fields[f"number_{kind}"] = forms.CharField(label=label, max_length=20, initial=number)
            self.fields[f"label_{kind}"] = forms.CharField(label=_("Label"), max_length=100, initial=account_label)

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
