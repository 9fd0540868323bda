"""The page where a person records how they are paid in a collective."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from contrib_budget.errors import DomainError
from contrib_budget.forms import add_domain_error

from . import bank
from .forms import BankDetailsForm
from .models import PaymentMethod


@require_http_methods(["GET", "POST"])
def bank_details(request, collective_slug):
    """My bank details in this collective: the IBAN in full, since only I see this page."""
    collective = request.collective
    details = bank.bank_details_get(collective=collective, person=request.user)
    initial = ({"method": PaymentMethod.TRANSFER} if details is None else
               {name: getattr(details, name) for name in ("method", "iban", "holder", "bic", "payroll_reference")})
    form = BankDetailsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            bank.bank_details_set(collective=collective, person=request.user, actor=request.user,
                                  **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Your bank details are saved."))
            return redirect("bank_details", collective.slug)
    return render(request, "members/bank_details.html", {
        "collective": collective,
        "details": details,
        "iban_formatted": bank.formatted_iban(details.iban) if details else "",
        "form": form,
    }, status=400 if form.errors else 200)
