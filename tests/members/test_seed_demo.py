import sys
import types
from importlib.machinery import ModuleSpec
from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from members.demo import DEMO_PASSWORD, DemoData
from members.management.commands import seed_demo
from members.models import AuditEvent, Collective, Membership, User
from tests.members.test_api import fresh_address

pytestmark = pytest.mark.django_db


def run_seed_demo() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def roles_in(slug: str) -> dict[str, list[str]]:
    return {
        m.user.email.split("@")[0]: m.roles
        for m in Membership.objects.filter(collective__slug=slug).select_related("user")
    }


def test_seed_demo_creates_the_third_place_with_people_in_every_role():
    run_seed_demo()

    fabrique = Collective.objects.get(slug="la-fabrique")
    assert (fabrique.name, fabrique.currency, fabrique.locale) == ("La Fabrique", "EUR", "fr")
    roles = roles_in("la-fabrique")
    assert len(roles) == 12
    assert roles["alice"] == ["coordinator", "member"]
    assert roles["carol"] == ["accountant"]
    assert {key for key, r in roles.items() if "contributor" in r} == {"bob", "david", "emma", "farid"}
    assert {key for key, r in roles.items() if r == ["member"]} == {"gaelle", "hugo", "ines", "jules", "karim", "lea"}
    assert User.objects.get(email="alice@demo.contrib-budget.org").name == "Alice Martin"


def test_seed_demo_creates_a_second_collective_sharing_bob_and_emma():
    run_seed_demo()

    kpa = Collective.objects.get(slug="kpa-cite")
    assert kpa.name == "KPA-Cité"
    roles = roles_in("kpa-cite")
    assert {"bob", "emma"} <= roles.keys()
    assert "coordinator" in roles["alice"]
    assert "david" not in roles


def test_demo_people_can_log_in_at_once_with_mandatory_email_verification(client, settings):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    run_seed_demo()

    users = User.objects.filter(email__endswith="@demo.contrib-budget.org")
    assert users.count() == 14
    for user in users:
        assert EmailAddress.objects.filter(user=user, email=user.email, verified=True, primary=True).exists()
    assert len({user.password for user in users}) == 1
    assert users.first().check_password(DEMO_PASSWORD)
    response = client.post(reverse("account_login"),
                           {"login": "emma@demo.contrib-budget.org", "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("home")
    # The API's token endpoint follows the same rule: the demo's people get tokens.
    for email in ("alice@demo.contrib-budget.org", "carol@demo.contrib-budget.org"):
        token = APIClient(REMOTE_ADDR=fresh_address()).post(
            "/api/v1/auth/token/", {"email": email, "password": DEMO_PASSWORD}, format="json")
        assert token.status_code == 200, token.content


def test_seed_demo_prints_the_accounts_and_the_password():
    output = run_seed_demo()

    assert DEMO_PASSWORD in output
    assert "alice@demo.contrib-budget.org" in output
    assert "La Fabrique: coordinator, member; KPA-Cité: coordinator" in output


def test_running_seed_demo_twice_changes_nothing():
    run_seed_demo()
    models = (User, Collective, Membership, EmailAddress, AuditEvent)
    counts = {model: model.objects.count() for model in models}

    output = run_seed_demo()

    assert "already there" in output
    assert "alice@demo.contrib-budget.org" in output
    assert {model: model.objects.count() for model in models} == counts


def test_seed_demo_lets_each_existing_app_module_add_its_data_once(monkeypatch):
    seeded: list[DemoData] = []
    probe = types.ModuleType("demo_probe")
    probe.__spec__ = ModuleSpec("demo_probe", None)
    probe.seed = seeded.append
    monkeypatch.setitem(sys.modules, "demo_probe", probe)
    monkeypatch.setattr(seed_demo, "APP_DEMO_MODULES", ("members.no_such_demo", "demo_probe"))

    run_seed_demo()
    run_seed_demo()

    assert len(seeded) == 1
    assert seeded[0].collectives["fabrique"].slug == "la-fabrique"
    assert seeded[0].collectives["kpa"].slug == "kpa-cite"
    assert seeded[0].people["carol"].email == "carol@demo.contrib-budget.org"
