"""Form fields for what people type on the pages: the same rules as the API's fields (contrib_budget.api).

Every app's page forms use these for text and dates, so a control character, an unbounded text or a date in
year 1 is a form error on its field, never a server error or a stored surprise. A service's refusal is shown
on the form (`add_domain_error`) or as one line (`error_text`).
"""

from django import forms
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from . import dates, text
from .errors import DomainError, Forbidden


class SingleLineField(text.TextField, forms.CharField):
    """A name, title, source or reference: one line, no control character, SINGLE_LINE_MAX at most by default."""

    def to_python(self, value):
        if isinstance(value, str) and value not in self.empty_values:
            self.check_text(value)
        return super().to_python(value)


class MultiLineField(SingleLineField):
    """A description, comment, reason or guideline: line breaks and tabs allowed, MULTI_LINE_MAX by default."""

    multi_line = True
    default_max_length = text.MULTI_LINE_MAX
    widget = forms.Textarea


class DateField(forms.DateField):
    """A date between dates.EARLIEST and dates.LATEST."""

    default_validators = [dates.validate_date_window]


class DateTimeField(forms.DateTimeField):
    """A date and time between dates.EARLIEST and dates.LATEST."""

    default_validators = [dates.validate_date_window]


class DayRangeForm(forms.Form):
    """A form whose `since` and `until` days (each form labels its own) make a range: `until` may not come first."""

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", _("Choose a day on or after the first one."))
        return data


def _forbidden_is_403(error: DomainError) -> None:
    """Lacking the right is no mistake to correct on a form: the page answers 403, as the API does."""
    if isinstance(error, Forbidden):
        raise PermissionDenied(error.message)


def add_domain_error(form: forms.Form, error: DomainError) -> None:
    """Show a service's refusal on the form: on its fields when it names them (a refusal for lack of rights is a
    403 instead)."""
    _forbidden_is_403(error)
    placed = False
    for field, messages in error.fields.items():
        if field in form.fields:
            for message in messages if isinstance(messages, list | tuple) else [messages]:
                form.add_error(field, message)
            placed = True
    if not placed:
        form.add_error(None, error.message)


def error_text(source: DomainError | forms.BaseForm) -> str:
    """A refusal as one line for a flash message: a service's message followed by the field messages it names,
    or a form's errors; each message once, in order (a refusal for lack of rights is a 403 instead)."""
    if isinstance(source, DomainError):
        _forbidden_is_403(source)
        named = (messages if isinstance(messages, list | tuple) else [messages] for messages in source.fields.values())
        parts = [source.message, *(message for messages in named for message in messages)]
    else:
        parts = [message for messages in source.errors.values() for message in messages]
    return " ".join(dict.fromkeys(str(part) for part in parts))
