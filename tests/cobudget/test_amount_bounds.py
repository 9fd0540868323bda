"""A manual envelope too large for its column is refused naming the field, and nothing is saved.

The service used to save 10,000,000,000,000, and opening the round then overflowed the wallet's
numeric column (a 500)."""

import pytest

from cobudget import services
from cobudget.models import Round
from contrib_budget.errors import DomainError
from contrib_budget.money import MAX_ENVELOPE
from tests.cobudget.test_api import rounds_url
from tests.cobudget.test_forms import logged_in, page, round_form

HUGE = "10000000000000"


def test_the_api_refuses_a_manual_envelope_above_the_maximum(api, collective, coordinator, member, people):
    response = api(coordinator).post(rounds_url(collective), {
        "name": "Trop", "envelope_policy": "manual", "manual_envelopes": {str(member.pk): HUGE},
    }, format="json")
    assert response.status_code == 400, response.content
    assert "manual_envelopes" in response.json()["fields"]
    assert not Round.objects.filter(name="Trop").exists()


def test_the_page_refuses_a_manual_envelope_above_the_maximum(collective, coordinator, member, people):
    """The set-up page shows its refusals on the form (200, as for every refused round form)."""
    for amount in (HUGE, str(MAX_ENVELOPE + 1)):
        response = logged_in(coordinator).post(page(collective, "new"), round_form(
            envelope_policy="manual", envelope_amount="", **{f"envelope_{member.pk}": amount}))
        assert response.status_code == 200
        assert f'aria-invalid="true" aria-describedby="id_envelope_{member.pk}_error"' in response.content.decode()
        assert not Round.objects.filter(name="Été").exists()


@pytest.mark.parametrize("amount", [HUGE, str(MAX_ENVELOPE + 1)])
def test_the_service_refuses_a_manual_envelope_above_the_maximum(collective, coordinator, member, people, amount):
    with pytest.raises(DomainError) as error:
        services.round_create(collective=collective, actor=coordinator, name="Trop", envelope_policy="manual",
                              manual_envelopes={str(member.pk): amount})
    assert error.value.code == "amount_too_large" and list(error.value.fields) == ["manual_envelopes"]
    assert not Round.objects.filter(name="Trop").exists()


def test_the_service_refuses_an_envelope_amount_above_the_maximum(collective, coordinator, people):
    with pytest.raises(DomainError) as error:
        services.round_create(collective=collective, actor=coordinator, name="Trop", envelope_amount=HUGE)
    assert error.value.code == "amount_too_large" and list(error.value.fields) == ["envelope_amount"]
    assert not Round.objects.filter(name="Trop").exists()


def test_a_manual_envelope_of_the_maximum_opens_the_round(collective, coordinator, member, people):
    round = services.round_create(collective=collective, actor=coordinator, name="Plein", envelope_policy="manual",
                                  manual_envelopes={str(member.pk): str(MAX_ENVELOPE)})
    round = services.round_open(round=round, actor=coordinator)
    assert [wallet.envelope for wallet in round.wallets.all()] == [MAX_ENVELOPE]
