from django import forms
from django.utils import translation

from contrib_budget.errors import DomainError
from contrib_budget.forms import error_text


class _AmountForm(forms.Form):
    amount = forms.DecimalField()
    note = forms.CharField()


def test_a_refusal_reads_as_its_message_then_the_field_messages_once():
    error = DomainError("Not enough money.", "insufficient",
                        fields={"amount": ["Not enough money.", "At most 10.00."], "note": "Say why."})
    assert error_text(error) == "Not enough money. At most 10.00. Say why."


def test_a_refusal_without_fields_is_its_message():
    assert error_text(DomainError("No.")) == "No."


def test_a_form_reads_as_its_errors():
    with translation.override("en"):
        form = _AmountForm({"amount": "x"})
        assert not form.is_valid()
        assert error_text(form) == "Enter a number. This field is required."
