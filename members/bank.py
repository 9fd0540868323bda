"""How people are paid: each person's bank details in a collective, and the collective's own account.

A person records their own details (a transfer to an IBAN, or payroll with a reference); coordinators and accountants
read them masked, and payout batches read them whole through `bank_details_for`. IBANs are checked with schwifty:
length, check digits, the account number's national key where the country has one, and the SEPA zone.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from babel import Locale, UnknownLocaleError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from schwifty import BIC, IBAN, exceptions

from contrib_budget.errors import DomainError, Forbidden, validated_or_raise

from .audit import audit_record
from .models import BankDetails, Collective, Membership, PaymentMethod, User
from .notifications.services import notify
from .permissions import MANAGE_COLLECTIVE, SET_OWN_BANK_DETAILS

BANK_ACCOUNT_FIELDS = ("bank_iban", "bank_bic", "bank_holder")
# What a person may type: an IBAN has 34 characters at most and a BIC 11, with spaces between groups.
IBAN_TYPED_MAX = 50
BIC_TYPED_MAX = 20
MASK = "••••"


@dataclass(frozen=True)
class PaymentDetails:
    """What a payout batch needs to pay one person; `problem` says why a SEPA transfer cannot be made (None: it
    can), in the active language."""

    method: str
    iban: str
    bic: str
    holder: str
    payroll_reference: str
    problem: str | None


def compact(value: str) -> str:
    """An IBAN or a BIC as stored: upper case, without spaces."""
    return "".join(value.split()).upper()


def mask_iban(iban: str) -> str:
    """"FR76 •••• 0189": the country and check digits, then the last four characters only."""
    iban = compact(iban)
    return f"{iban[:4]} {MASK} {iban[-4:]}" if iban else ""


def formatted_iban(iban: str) -> str:
    """The IBAN in groups of four, as printed on a bank's statement."""
    iban = compact(iban)
    return " ".join(iban[start:start + 4] for start in range(0, len(iban), 4))


def _country_name(code: str) -> str:
    try:
        return Locale.parse(get_language() or "en", sep="-").territories.get(code, code)
    except (ValueError, UnknownLocaleError):
        return code


def _refused(field: str, code: str, message: str) -> DomainError:
    return DomainError(message, code, fields={field: [message]})


def _iban_error(value: str, error: exceptions.SchwiftyException) -> tuple[str, str]:
    """The code and message of a refused IBAN: what is wrong with it, so the person knows what to look for."""
    if isinstance(error, exceptions.InvalidCountryCode):
        return "iban_country", _("“%(code)s” is not the code of a country that has IBANs: an IBAN starts with its "
                                 "country's code, such as FR or DE.") % {"code": value[:2]}
    if isinstance(error, exceptions.InvalidLength):
        spec = IBAN(value, allow_invalid=True).spec
        return "iban_length", _("An IBAN from %(country)s has %(expected)d characters; this one has %(given)d.") % {
            "country": _country_name(value[:2]), "expected": spec.iban_length, "given": len(value)}
    if isinstance(error, exceptions.InvalidChecksumDigits):
        return "iban_checksum", _("The check digits of this IBAN do not match: look for a typing mistake.")
    if isinstance(error, exceptions.InvalidBBANChecksum):
        return "iban_account_key", _("The account number's check key does not match: look for a typing mistake.")
    return "iban_invalid", _("This is not a valid IBAN: it starts with a country code and two check digits, then "
                             "the account number, in letters and digits only.")


def iban_checked(value: str, *, field: str = "iban") -> IBAN:
    """The IBAN `value` (spaces and lower case allowed) if a SEPA transfer can be made to it; else a DomainError
    naming `field`, with a message for each kind of mistake."""
    value = compact(value)
    try:
        iban = IBAN(value, validate_bban=True)
    except exceptions.SchwiftyException as error:
        code, message = _iban_error(value, error)
        raise _refused(field, code, message) from None
    if not iban.in_sepa_zone:
        raise _refused(field, "iban_outside_sepa", _(
            "%(country)s is outside the SEPA zone: no SEPA transfer can be made to this IBAN."
        ) % {"country": _country_name(iban.country_code)})
    return iban


def bic_checked(iban: IBAN, given: str, *, field: str = "bic") -> str:
    """The BIC to store with `iban`: the one given if it is the IBAN's bank's, else the one derived from the IBAN
    ("" when the bank is unknown to schwifty and none was given)."""
    given = compact(given)
    try:
        candidates = [str(bic) for bic in BIC.candidates_from_bank_code(iban.country_code, iban.bank_code)]
    except exceptions.SchwiftyException:
        candidates = []
    if not given:
        return str(iban.bic or "")
    try:
        bic = BIC(given)
    except exceptions.SchwiftyException:
        raise _refused(field, "bic_invalid", _("This is not a valid BIC: it has 8 or 11 letters and digits.")) from None
    # Branch codes differ between a bank's BICs: the bank, its country and its location must match.
    if candidates and str(bic)[:8] not in {candidate[:8] for candidate in candidates}:
        raise _refused(field, "bic_mismatch", _("This BIC is not the one of the IBAN's bank (%(bic)s).")
                       % {"bic": candidates[0]})
    return str(bic)


def _merged(errors: list[DomainError]) -> DomainError:
    if len(errors) == 1:
        return errors[0]
    fields: dict[str, list[str]] = {}
    for error in errors:
        for name, messages in error.fields.items():
            fields.setdefault(name, []).extend(messages)
    return DomainError(_("Please correct the highlighted fields."), "invalid", fields=fields)


def _details_checked(*, method: str, iban: str, holder: str, payroll_reference: str, bic: str) -> dict[str, str]:
    """The details to store, normalised; every mistake at once, each naming its field."""
    if method not in PaymentMethod.values:
        raise _refused("method", "invalid_method", _("Choose how you are paid: “transfer” or “payroll”."))
    holder, payroll_reference = holder.strip(), payroll_reference.strip()
    errors = []
    if method == PaymentMethod.TRANSFER:
        if not compact(iban):
            errors.append(_refused("iban", "required", _("Give the IBAN of the account to pay.")))
        if not holder:
            errors.append(_refused("holder", "required", _("Give the name of the account's holder.")))
    elif not payroll_reference:
        errors.append(_refused("payroll_reference", "required", _("Give your payroll reference.")))
    checked = {"method": method, "iban": "", "bic": "", "holder": holder, "payroll_reference": payroll_reference}
    if compact(iban):
        try:
            valid = iban_checked(iban)
            checked.update(iban=valid.compact, bic=bic_checked(valid, bic))
        except DomainError as error:
            errors.append(error)
    elif compact(bic):
        errors.append(_refused("bic", "bic_without_iban", _("Give the IBAN this BIC goes with.")))
    if errors:
        raise _merged(errors)
    return checked


def _audited(details: BankDetails | None) -> dict[str, str] | None:
    """The details as the audit log keeps them: the IBAN masked, never whole."""
    if details is None:
        return None
    return {"method": details.method, "iban": mask_iban(details.iban), "bic": details.bic, "holder": details.holder,
            "payroll_reference": details.payroll_reference}


def bank_details_set(*, collective: Collective, person: User, actor: User, method: str, iban: str = "",
                     holder: str = "", payroll_reference: str = "", bic: str = "") -> BankDetails:
    """Record how `person` is paid in `collective`: only they may, as a member. Every change is audited (IBAN
    masked) and told to them, so that a change they did not make does not go unnoticed."""
    if actor.pk != person.pk:
        raise Forbidden(_("Only the person themself records their bank details."), "not_own_bank_details")
    SET_OWN_BANK_DETAILS.require(collective=collective, actor=actor)
    checked = _details_checked(method=method, iban=iban, holder=holder, payroll_reference=payroll_reference, bic=bic)
    with transaction.atomic():
        # The membership's row, locked, runs one person's changes one at a time (and they are still a member).
        if not Membership.objects.of(collective).select_for_update().filter(user=person).exists():
            raise Forbidden(str(SET_OWN_BANK_DETAILS.message), SET_OWN_BANK_DETAILS.code)
        details = bank_details_get(collective=collective, person=person)
        before = _audited(details)
        if details is None:
            details = BankDetails(collective=collective, person=person)
        elif all(getattr(details, name) == value for name, value in checked.items()):
            return details
        for name, value in checked.items():
            setattr(details, name, value)
        details.updated_at, details.updated_by = timezone.now(), actor
        validated_or_raise(details, exclude=("collective", "person", "updated_by"))
        details.save()
        audit_record(collective=collective, actor=actor, action="bank_details.changed", target=details,
                     before=before, after=_audited(details))
        # No actor given: notify() never tells people what they did themselves, and this notice is for them.
        notify(collective=collective, kind="bank_details.changed", recipients=[person],
               params={"collective": collective.name}, url=reverse("bank_details", args=[collective.slug]))
    return details


def bank_details_get(*, collective: Collective, person: User) -> BankDetails | None:
    return BankDetails.objects.of(collective).filter(person=person).first()


def bank_details_of_people(*, collective: Collective, people: Iterable[User | int]) -> dict[int, BankDetails]:
    """The recorded details of `people` by person id (those without none), in one query."""
    ids = {person if isinstance(person, int) else person.pk for person in people}
    return {details.person_id: details for details in BankDetails.objects.of(collective).filter(person_id__in=ids)}


def payment_details(details: BankDetails | None) -> PaymentDetails:
    if details is None:
        return PaymentDetails(method="", iban="", bic="", holder="", payroll_reference="",
                              problem=_("No bank details are recorded."))
    problem = None
    if details.method == PaymentMethod.PAYROLL:
        problem = _("Paid through payroll, not by transfer.")
    else:
        # Checked again: schwifty's registry of countries and banks changes with its releases.
        try:
            iban_checked(details.iban)
        except DomainError as error:
            problem = _("The recorded IBAN cannot be used: %(reason)s") % {"reason": error.message}
    return PaymentDetails(method=details.method, iban=details.iban, bic=details.bic, holder=details.holder,
                          payroll_reference=details.payroll_reference, problem=problem)


def bank_details_for(*, collective: Collective, people: Iterable[User | int]) -> dict[int, PaymentDetails]:
    """How each of `people` is paid, by person id, in one query; people without details are there too, with
    method "" and a problem."""
    ids = {person if isinstance(person, int) else person.pk for person in people}
    stored = bank_details_of_people(collective=collective, people=ids)
    return {person_id: payment_details(stored.get(person_id)) for person_id in ids}


def bank_account_of(collective: Collective) -> dict[str, str]:
    return {name: getattr(collective, name) for name in BANK_ACCOUNT_FIELDS}


def _bank_account_checked(*, bank_iban: str, bank_bic: str, bank_holder: str) -> dict[str, str]:
    """The collective's account as stored: all empty (none), or a SEPA IBAN with its holder (and BIC)."""
    bank_holder = bank_holder.strip()
    if not (compact(bank_iban) or compact(bank_bic) or bank_holder):
        return {"bank_iban": "", "bank_bic": "", "bank_holder": ""}
    errors = []
    checked = {"bank_iban": "", "bank_bic": "", "bank_holder": bank_holder}
    if not bank_holder:
        errors.append(_refused("bank_holder", "required", _("Give the name of the account's holder.")))
    if not compact(bank_iban):
        errors.append(_refused("bank_iban", "required", _("Give the IBAN of the collective's account.")))
    else:
        try:
            valid = iban_checked(bank_iban, field="bank_iban")
            checked.update(bank_iban=valid.compact, bank_bic=bic_checked(valid, bank_bic, field="bank_bic"))
        except DomainError as error:
            errors.append(error)
    if errors:
        raise _merged(errors)
    return checked


def collective_bank_account_set(*, collective: Collective, actor: User | None, bank_iban: str, bank_bic: str,
                                bank_holder: str) -> Collective:
    """Record the account the collective pays from (coordinators); all three empty removes it."""
    MANAGE_COLLECTIVE.require(collective=collective, actor=actor)
    checked = _bank_account_checked(bank_iban=bank_iban, bank_bic=bank_bic, bank_holder=bank_holder)
    before: dict[str, Any] = bank_account_of(collective)
    if before == checked:
        return collective
    for name, value in checked.items():
        setattr(collective, name, value)
    validated_or_raise(collective)
    with transaction.atomic():
        collective.save(update_fields=list(BANK_ACCOUNT_FIELDS))
        # In full: the collective's own account is no personal data, and who changed it to what must be traceable.
        audit_record(collective=collective, actor=actor, action="collective.bank_account_changed",
                     target=collective, before=before, after=checked)
    return collective
