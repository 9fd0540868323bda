"""The upload form of incoming money, shared by the page and the API (the file's checks are the bank
statement's: size, text encoding)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from budgets.models import Budget

from ..forms import BankStatementForm
from ..models import ImportFormat


class IncomingUploadForm(BankStatementForm):
    file = forms.FileField(label=_("CSV file of incoming money"),
                           help_text=_("A bank statement (only its credits are read), or the CSV export of HelloAsso, "
                                       "Liberapay or Open Collective. Nothing is recorded before you confirm."))
    format = forms.ChoiceField(label=_("Kind of file"), choices=ImportFormat.choices)
    budget = forms.ModelChoiceField(label=_("Default budget"), queryset=Budget.objects.none(), required=False,
                                    empty_label=_("None: skip what matches no pledge"),
                                    help_text=_("Money that matches no pledged funding is recorded as a new "
                                                "received funding of this budget; each line can be changed."))

    field_order = ["file", "format", "budget"]

    def __init__(self, *args, collective, **kwargs):
        super().__init__(*args, **kwargs)
        budgets = Budget.objects.of(collective).order_by("name", "id")
        self.fields["budget"].queryset = budgets
