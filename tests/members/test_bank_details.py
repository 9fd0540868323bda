"""People's bank details and the collective's own account (members.bank): checked, normalised, encrypted at rest,
masked for others, audited and notified."""

import pytest
from django.core import mail
from django.db import connection
from django.utils import translation

from contrib_budget.errors import DomainError, Forbidden
from members import bank
from members.models import AuditEvent, BankDetails, Membership
from members.notifications.models import Notification

IBAN = "FR7630006000011234567890189"  # Crédit Agricole: BIC AGRIFRPPXXX
TYPED = "fr76 3000 6000 0112 3456 7890 189"
OTHER_IBAN = "DE89370400440532013000"  # Commerzbank: BIC COBADEFFXXX
UNKNOWN_BANK_IBAN = "CH9300762011623852957"  # SEPA, a bank schwifty does not know
OUTSIDE_SEPA = "BR1800360305000010009795493C1"
WRONG_ACCOUNT_KEY = "FR0630006000011234567890188"  # right IBAN check digits, wrong French RIB key


def _set(collective, person, **fields):
    fields.setdefault("method", "transfer")
    return bank.bank_details_set(collective=collective, person=person, actor=person, **fields)


def _refusal(collective, person, **fields) -> DomainError:
    with pytest.raises(DomainError) as refused:
        _set(collective, person, **fields)
    return refused.value


def test_an_iban_typed_with_spaces_and_lower_case_is_stored_normalised_with_its_derived_bic(collective, member):
    details = _set(collective, member, iban=TYPED, holder=" Bob Martin ")
    details.refresh_from_db()
    assert (details.iban, details.bic, details.holder) == (IBAN, "AGRIFRPPXXX", "Bob Martin")
    assert (details.updated_by, details.method) == (member, "transfer")


@pytest.mark.parametrize(("iban", "code", "words"), [
    ("FR7630006000011234567890188", "iban_checksum", "check digits"),
    ("FR763000600001123456789018", "iban_length", "27 characters; this one has 26"),
    ("XX7630006000011234567890189", "iban_country", "“XX”"),
    (OUTSIDE_SEPA, "iban_outside_sepa", "Brazil is outside the SEPA zone"),
    (WRONG_ACCOUNT_KEY, "iban_account_key", "check key"),
    ("FR76 3000 6000 0112 3456 7890 1$9", "iban_invalid", "letters and digits only"),
    ("FR7", "iban_invalid", "starts with a country code"),
])
def test_each_wrong_iban_is_refused_with_its_own_message_on_the_iban_field(collective, member, iban, code, words):
    with translation.override("en"):
        error = _refusal(collective, member, iban=iban, holder="Bob")
    assert error.code == code
    assert list(error.fields) == ["iban"] and words in error.fields["iban"][0]
    assert not BankDetails.objects.exists()


def test_a_bic_of_another_bank_is_refused_and_a_bic_of_the_ibans_bank_kept(collective, member):
    error = _refusal(collective, member, iban=OTHER_IBAN, holder="Bob", bic="AGRIFRPP")
    assert error.code == "bic_mismatch" and "COBADEFFXXX" in error.fields["bic"][0]
    assert _refusal(collective, member, iban=OTHER_IBAN, holder="Bob", bic="ZZ").code == "bic_invalid"
    assert _set(collective, member, iban=OTHER_IBAN, holder="Bob", bic="coba de ff").bic == "COBADEFF"


def test_a_bic_is_only_checked_when_the_ibans_bank_is_unknown(collective, member):
    assert _set(collective, member, iban=UNKNOWN_BANK_IBAN, holder="Bob").bic == ""
    assert _set(collective, member, iban=UNKNOWN_BANK_IBAN, holder="Bob", bic="UBSWCHZH80A").bic == "UBSWCHZH80A"


def test_a_transfer_needs_an_iban_and_a_holder_and_payroll_a_reference_but_no_iban(collective, member):
    error = _refusal(collective, member, method="transfer")
    assert set(error.fields) == {"iban", "holder"}
    assert set(_refusal(collective, member, method="payroll").fields) == {"payroll_reference"}
    assert _refusal(collective, member, method="cheque").fields.keys() == {"method"}
    details = _set(collective, member, method="payroll", payroll_reference="MAT-0042")
    assert (details.method, details.iban, details.payroll_reference) == ("payroll", "", "MAT-0042")


def test_the_iban_is_encrypted_in_its_column(collective, member):
    details = _set(collective, member, iban=TYPED, holder="Bob")
    with connection.cursor() as cursor:
        cursor.execute("SELECT iban FROM members_bankdetails WHERE id = %s", [details.pk])
        (stored,) = cursor.fetchone()
    assert stored and IBAN not in stored and "30006000011234567890189" not in stored
    assert BankDetails.objects.get(pk=details.pk).iban == IBAN


def test_an_iban_is_masked_to_its_country_check_digits_and_last_four_characters():
    assert bank.mask_iban(TYPED) == "FR76 •••• 0189"
    assert bank.mask_iban("") == ""
    assert bank.formatted_iban(IBAN) == "FR76 3000 6000 0112 3456 7890 189"


def test_every_change_is_audited_with_the_iban_masked_and_notified_to_the_person(
        collective, member, django_capture_on_commit_callbacks):
    _set(collective, member, iban=IBAN, holder="Bob")
    with django_capture_on_commit_callbacks(execute=True):
        _set(collective, member, iban=OTHER_IBAN, holder="Bob")
    events = list(AuditEvent.objects.filter(action="bank_details.changed").order_by("pk"))
    assert len(events) == 2
    assert events[1].actor == member and events[1].target_id == str(BankDetails.objects.get().pk)
    assert events[1].before["iban"] == "FR76 •••• 0189" and events[1].after["iban"] == "DE89 •••• 3000"
    recorded = str([(e.before, e.after, e.target_label) for e in events])
    assert IBAN not in recorded and OTHER_IBAN not in recorded and "3000600001" not in recorded
    notifications = Notification.objects.filter(kind="bank_details.changed", recipient=member)
    assert notifications.count() == 2
    assert [message.to for message in mail.outbox] == [[member.email]]
    assert IBAN not in mail.outbox[0].body and OTHER_IBAN not in mail.outbox[0].body


def test_saving_the_same_details_again_changes_nothing(collective, member):
    _set(collective, member, iban=IBAN, holder="Bob")
    _set(collective, member, iban=TYPED, holder="Bob")
    assert AuditEvent.objects.filter(action="bank_details.changed").count() == 1


def test_only_the_person_themself_records_their_bank_details_and_only_as_a_member(
        collective, member, coordinator, outsider):
    with pytest.raises(Forbidden):
        bank.bank_details_set(collective=collective, person=member, actor=coordinator, method="transfer",
                              iban=IBAN, holder="Bob")
    with pytest.raises(Forbidden):
        _set(collective, outsider, iban=IBAN, holder="Charlie")
    assert not BankDetails.objects.exists()


def test_bank_details_for_tells_in_one_query_how_each_person_can_be_paid(
        collective, member, coordinator, accountant, django_assert_num_queries):
    _set(collective, member, iban=TYPED, holder="Bob")
    _set(collective, coordinator, method="payroll", payroll_reference="MAT-7")
    with django_assert_num_queries(1), translation.override("en"):
        found = bank.bank_details_for(collective=collective, people=[member, coordinator.pk, accountant])
    assert set(found) == {member.pk, coordinator.pk, accountant.pk}
    assert found[member.pk] == bank.PaymentDetails(method="transfer", iban=IBAN, bic="AGRIFRPPXXX", holder="Bob",
                                                   payroll_reference="", problem=None)
    assert found[coordinator.pk].method == "payroll" and found[coordinator.pk].payroll_reference == "MAT-7"
    assert "payroll" in found[coordinator.pk].problem
    assert found[accountant.pk].method == "" and found[accountant.pk].problem == "No bank details are recorded."


def test_bank_details_for_flags_a_stored_iban_that_no_longer_validates(collective, member):
    details = _set(collective, member, iban=IBAN, holder="Bob")
    # As if schwifty's registry changed since it was recorded: written around the checks.
    BankDetails.objects.filter(pk=details.pk).update(iban=OUTSIDE_SEPA)
    with translation.override("en"):
        problem = bank.bank_details_for(collective=collective, people=[member])[member.pk].problem
    assert problem.startswith("The recorded IBAN cannot be used") and "SEPA" in problem


def test_bank_details_are_kept_when_the_person_leaves(collective, member, coordinator):
    _set(collective, member, iban=IBAN, holder="Bob")
    Membership.objects.filter(collective=collective, user=member).delete()
    assert bank.bank_details_get(collective=collective, person=member).iban == IBAN
    with pytest.raises(Forbidden):
        _set(collective, member, iban=OTHER_IBAN, holder="Bob")


def test_coordinators_record_the_collectives_own_account_audited_in_full(collective, coordinator, member):
    bank.collective_bank_account_set(collective=collective, actor=coordinator, bank_iban=TYPED, bank_bic="",
                                     bank_holder="La Fabrique")
    collective.refresh_from_db()
    assert (collective.bank_iban, collective.bank_bic, collective.bank_holder) == (IBAN, "AGRIFRPPXXX",
                                                                                   "La Fabrique")
    event = AuditEvent.objects.get(action="collective.bank_account_changed")
    assert event.after["bank_iban"] == IBAN and event.before["bank_iban"] == ""
    with pytest.raises(Forbidden):
        bank.collective_bank_account_set(collective=collective, actor=member, bank_iban="", bank_bic="",
                                         bank_holder="")


def test_the_collectives_account_is_checked_like_a_persons(collective, coordinator):
    with pytest.raises(DomainError) as refused:
        bank.collective_bank_account_set(collective=collective, actor=coordinator, bank_iban=OUTSIDE_SEPA,
                                         bank_bic="", bank_holder="")
    assert set(refused.value.fields) == {"bank_iban", "bank_holder"}
    collective.refresh_from_db()
    assert collective.bank_iban == ""
