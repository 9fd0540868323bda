"""The settings form: for each kind, how its emails come and whether it shows in the app; the emails' language."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .kinds import all_kinds
from .models import EmailMode


class NotificationSettingsForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language of my emails"), required=False,
        choices=[("", _("The language of each collective")), *settings.LANGUAGES],
    )

    def __init__(self, *args, preferences: dict[str, tuple[str, bool]], **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = []
        for kind in all_kinds():
            email, in_app = preferences[kind.code]
            self.fields[f"email:{kind.code}"] = forms.ChoiceField(label=kind.label, choices=EmailMode.choices,
                                                                  initial=email)
            self.fields[f"in_app:{kind.code}"] = forms.BooleanField(label=_("In the app"), required=False,
                                                                    initial=in_app)
            self.rows.append((kind, self[f"email:{kind.code}"], self[f"in_app:{kind.code}"]))

    def changes(self) -> dict[str, dict]:
        return {kind.code: {"email": self.cleaned_data[f"email:{kind.code}"],
                            "in_app": self.cleaned_data[f"in_app:{kind.code}"]} for kind in all_kinds()}


class ReminderSettingsForm(forms.Form):
    declare_enabled = forms.BooleanField(label=_("Remind contributors who declared nothing in a period before it ends"),
                                         required=False)
    declare_days_before = forms.IntegerField(label=_("How many days before the period ends"), min_value=0,
                                             max_value=60)
    review_enabled = forms.BooleanField(label=_("Remind reviewers of declarations waiting for them"), required=False)
    review_after_days = forms.IntegerField(label=_("After how many days of waiting"), min_value=1, max_value=60)
    wallet_enabled = forms.BooleanField(
        label=_("Remind participants of money left in their wallet 48 hours before a round closes"), required=False)
    lock_enabled = forms.BooleanField(
        label=_("Remind accountants of settled periods not yet locked at the end of each month"), required=False)
