"""Form fields for what people type on the pages: the same rules as the API's fields (contrib_budget.api).

Every app's page forms use these for text and dates, so a control character, an unbounded text or a date in
year 1 is a form error on its field, never a server error or a stored surprise.
"""

from django import forms

from . import dates, text


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
