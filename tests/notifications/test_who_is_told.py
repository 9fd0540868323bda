"""Who is told what: each kind of notification, recorded by the real service that makes the change.

Every test performs the action through its service on the real database, then
compares the whole set of recipients of the kind with the people the contract
names (so the actor, the other members, the accountant and Charlie, who belongs
to another collective, are proven untold), and reads the English sentence.
"""

from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.db.models import Max
from django.urls import reverse
from django.utils import translation

from accounting import services as accounting
from budgets.fundings import funding_create, funding_receive
from budgets.models import Funding, Payout, PeriodStatus
from budgets.payouts import payouts_mark_paid
from cobudget import services as cobudget
from contributions import services as contributions
from contributions.closing import period_close
from contributions.models import ValueMode
from members.models import Invitation, Membership, Role
from members.notifications import selectors
from members.notifications.models import EmailMode, Notification
from members.notifications.services import notification_settings_update
from members.services import invitation_create, member_add, membership_remove
from tests.budgets.helpers import declare, make_budget, period_at, person
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

D = Decimal


# ---------------------------------------------------------------------------
# people and helpers


@pytest.fixture
def farid(collective):
    """A second coordinator, who also declares work (no member role: not a round participant by default)."""
    return MembershipFactory(collective=collective, user=UserFactory(email="farid@example.org", name="Farid"),
                             roles=[Role.COORDINATOR.value, Role.CONTRIBUTOR.value]).user


@pytest.fixture
def gaelle(collective):
    """A plain member: no review, no coordination."""
    return MembershipFactory(collective=collective, user=UserFactory(email="gaelle@example.org", name="Gaëlle"),
                             roles=[Role.MEMBER.value]).user


@pytest.fixture
def everyone(coordinator, member, accountant, outsider, farid, gaelle):
    """Alice and Farid coordinate, Bob declares, Gaëlle is a member, Carol keeps the books; Charlie is elsewhere."""
    return {"alice": coordinator, "bob": member, "carol": accountant, "charlie": outsider, "farid": farid,
            "gaelle": gaelle}


def told(kind: str) -> Counter:
    """How many notifications of `kind` each person got, by their email address."""
    return Counter(recorded().filter(kind=kind).values_list("recipient__email", flat=True))


def only(*people) -> Counter:
    return Counter(person.email for person in people)


def text(kind: str, user) -> str:
    notification = recorded().select_related("collective").get(kind=kind, recipient=user)
    with translation.override("en"):
        return selectors.text_of(notification)


_FORGOTTEN = {"up_to": 0}


@pytest.fixture(autouse=True)
def _forget_nothing_yet():
    _FORGOTTEN["up_to"] = 0


def recorded():
    """The notifications recorded since the last `forget()`."""
    return Notification.objects.filter(pk__gt=_FORGOTTEN["up_to"])


def forget() -> None:
    """Set aside what the arrangement told people, so that the test sees only what its action records (the tests'
    database role, like the application's, may not delete notifications)."""
    _FORGOTTEN["up_to"] = Notification.objects.aggregate(last=Max("pk"))["last"] or 0


def membership(collective, user) -> Membership:
    return Membership.objects.get(collective=collective, user=user)


# ---------------------------------------------------------------------------
# declarations


@pytest.fixture
def budget(collective, coordinator):
    return make_budget(collective, coordinator, received=None)


@pytest.fixture
def declared(collective, member, budget, everyone):
    """Bob declares 1,234.56 of work in the budget's first (open) period."""
    declaration = contributions.Declaration(
        budget=budget, performed_on=budget.starts_on, description="Permanence du samedi", minutes=0,
        value_mode=ValueMode.SELF_ASSESSED, amount=D("1234.56"))
    contribution = contributions.contribution_declare(collective=collective, membership=membership(collective, member),
                                                      declaration=declaration)
    forget()
    return contribution


def test_a_question_tells_the_author_and_nobody_else(declared, everyone):
    contributions.contribution_question(contribution=declared, actor=everyone["gaelle"],
                                        comment="Combien d'heures au juste ?")
    assert told("contribution.questioned") == only(everyone["bob"])
    sentence = text("contribution.questioned", everyone["bob"])
    assert "Gaëlle" in sentence and "Permanence du samedi" in sentence and "Combien d'heures au juste ?" in sentence
    assert told("contribution.commented") == Counter()


def test_the_authors_answer_tells_each_person_who_asked_once_and_not_the_author(declared, everyone):
    contributions.contribution_question(contribution=declared, actor=everyone["gaelle"], comment="Combien d'heures ?")
    contributions.contribution_question(contribution=declared, actor=everyone["gaelle"], comment="Et le trajet ?")
    contributions.contribution_question(contribution=declared, actor=everyone["alice"], comment="Quel samedi ?")
    contributions.contribution_question(contribution=declared, actor=everyone["bob"], comment="Six heures, le 6.")
    assert told("contribution.commented") == only(everyone["gaelle"], everyone["alice"])
    sentence = text("contribution.commented", everyone["gaelle"])
    assert "Bob" in sentence and "Permanence du samedi" in sentence and "Six heures, le 6." in sentence
    # Bob was told of the three questions, never of his own answer.
    assert told("contribution.questioned") == Counter({everyone["bob"].email: 3})


def test_the_authors_comment_without_any_question_tells_nobody(declared, everyone):
    contributions.contribution_question(contribution=declared, actor=everyone["bob"], comment="Précision : 6 heures.")
    assert recorded().count() == 0


def test_an_amendment_answers_those_who_asked(declared, everyone):
    contributions.contribution_question(contribution=declared, actor=everyone["gaelle"], comment="C'est cher ?")
    contributions.contribution_amend(contribution=declared, actor=everyone["bob"], changes={"amount": D("900.00")},
                                     note="Montant revu à la baisse")
    assert told("contribution.commented") == only(everyone["gaelle"])
    assert "Montant revu à la baisse" in text("contribution.commented", everyone["gaelle"])


def test_validation_tells_the_author_the_amount_once_the_last_approval_is_given(declared, budget, everyone,
                                                                               collective):
    budget.required_approvals = 2
    budget.save(update_fields=["required_approvals"])
    contributions.contribution_validate(contribution=declared, membership=membership(collective, everyone["alice"]))
    assert told("contribution.validated") == Counter()
    contributions.contribution_validate(contribution=declared, membership=membership(collective, everyone["farid"]))
    assert told("contribution.validated") == only(everyone["bob"])
    sentence = text("contribution.validated", everyone["bob"])
    assert "Permanence du samedi" in sentence and "€1,234.56" in sentence


def test_adjustment_tells_the_author_both_amounts_and_the_reason(declared, everyone, collective):
    contributions.contribution_adjust(contribution=declared, membership=membership(collective, everyone["alice"]),
                                      amount="1000.00", reason="Le trajet n'est pas compté")
    assert told("contribution.adjusted") == only(everyone["bob"])
    sentence = text("contribution.adjusted", everyone["bob"])
    assert "€1,234.56" in sentence and "€1,000.00" in sentence and "Le trajet n'est pas compté" in sentence


def test_rejection_tells_the_author_the_reason(declared, everyone, collective):
    contributions.contribution_reject(contribution=declared, membership=membership(collective, everyone["farid"]),
                                      reason="Déjà déclaré la semaine dernière")
    assert told("contribution.rejected") == only(everyone["bob"])
    sentence = text("contribution.rejected", everyone["bob"])
    assert "Permanence du samedi" in sentence and "Déjà déclaré la semaine dernière" in sentence


def test_an_author_who_left_the_collective_is_not_told_of_the_decision(declared, everyone, collective):
    membership_remove(membership=membership(collective, everyone["bob"]), actor=everyone["bob"])
    contributions.contribution_reject(contribution=declared, membership=membership(collective, everyone["alice"]),
                                      reason="Hors budget")
    assert recorded().count() == 0


# ---------------------------------------------------------------------------
# closings, deficits, fundings and payouts


def test_closing_tells_each_contributor_once_what_they_requested_and_were_granted(collective, everyone):
    budget = make_budget(collective, everyone["alice"])  # 1,000.00 a week, pro rata beyond
    ana, ben = person(collective, 1), person(collective, 2)
    declare(budget, ana, "600.00")
    declare(budget, ana, "300.00")
    declare(budget, ben, "300.00")
    forget()
    period_close(period=period_at(budget, 0), actor=everyone["alice"])
    assert told("period.closed") == only(ana, ben)
    sentence = text("period.closed", ana)
    assert "Semaine" in sentence and "Jan. 6, 2025" in sentence
    assert "€900.00" in sentence and "€750.00" in sentence
    assert "Scaled to 83.33%" in sentence and "€1,200.00" in sentence
    assert "€300.00" in text("period.closed", ben) and "€250.00" in text("period.closed", ben)


def test_a_closing_tells_its_contributors_a_batch_at_a_time_and_each_explanation_once(collective, everyone,
                                                                                     monkeypatch):
    monkeypatch.setattr("members.notifications.services.NOTIFICATIONS_PER_INSERT", 1)
    budget = make_budget(collective, everyone["alice"])
    ana, ben, cleo = (person(collective, number) for number in (1, 2, 3))
    for author, amount in ((ana, "600.00"), (ana, "300.00"), (ben, "300.00"), (cleo, "100.00")):
        declare(budget, author, amount)
    forget()
    period_close(period=period_at(budget, 0), actor=everyone["alice"])
    assert told("period.closed") == only(ana, ben, cleo)
    explanations = recorded().get(kind="period.closed", recipient=ana).params["explanations"]
    assert [code for code, _params in explanations] == ["pro_rata"]


def test_a_deficit_tells_the_other_coordinators_that_a_decision_is_needed(collective, everyone):
    budget = make_budget(collective, everyone["alice"], overspend_policy="hold")
    ana = person(collective, 1)
    declare(budget, ana, "1200.00")
    forget()
    period = period_close(period=period_at(budget, 0), actor=everyone["alice"])
    assert period.status == PeriodStatus.DEFICIT
    assert told("period.deficit") == only(everyone["farid"])
    sentence = text("period.deficit", everyone["farid"])
    assert "Semaine" in sentence and "€1,200.00" in sentence and "€1,000.00" in sentence
    assert "decide" in sentence
    assert told("period.closed") == Counter()
    period_close(period=period, actor=everyone["farid"], decision={"kind": "pro_rata"})
    assert told("period.deficit") == only(everyone["farid"])
    assert told("period.closed") == only(ana)


def test_an_automatic_closing_in_deficit_tells_every_coordinator(collective, everyone):
    budget = make_budget(collective, everyone["alice"], overspend_policy="hold")
    declare(budget, person(collective, 1), "1200.00")
    forget()
    period_close(period=period_at(budget, 0), actor=None)
    assert told("period.deficit") == only(everyone["alice"], everyone["farid"])


def test_received_money_tells_the_other_coordinators(collective, everyone):
    budget = make_budget(collective, everyone["alice"], received=None)
    funding_create(budget=budget, actor=everyone["alice"], source="Mairie", amount="800.00", status="pledged")
    assert told("funding.received") == Counter()
    funding_create(budget=budget, actor=everyone["alice"], source="Fondation Lille", amount="2500.00",
                   status="received")
    assert told("funding.received") == only(everyone["farid"])
    sentence = text("funding.received", everyone["farid"])
    assert "€2,500.00" in sentence and "Fondation Lille" in sentence and "Semaine" in sentence
    forget()
    funding_receive(funding=Funding.objects.get(source="Mairie"), actor=everyone["farid"])
    assert told("funding.received") == only(everyone["alice"])
    assert "€800.00" in text("funding.received", everyone["alice"])


def test_arriving_money_tells_each_payee_once_the_total_now_payable(collective, everyone):
    budget = make_budget(collective, everyone["alice"], received=None, pledged="2000.00")
    ana, ben = person(collective, 1), person(collective, 2)
    declare(budget, ana, "300.00")
    declare(budget, ana, "200.00")
    declare(budget, ben, "100.00")
    declare(budget, everyone["farid"], "50.00")
    period_close(period=period_at(budget, 0), actor=everyone["alice"])
    assert {payout.state for payout in Payout.objects.all()} == {"owed"}
    forget()
    funding_create(budget=budget, actor=everyone["farid"], source="Région", amount="1000.00", status="received")
    assert {payout.state for payout in Payout.objects.all()} == {"payable"}
    # Farid recorded the money: he is not told that his own payout became payable.
    assert told("payout.payable") == only(ana, ben)
    assert "€500.00" in text("payout.payable", ana) and "Semaine" in text("payout.payable", ana)
    assert "€100.00" in text("payout.payable", ben)


def test_marking_paid_tells_each_payee_once_with_the_total_and_the_date(collective, everyone):
    budget = make_budget(collective, everyone["alice"])
    ana, ben = person(collective, 1), person(collective, 2)
    declare(budget, ana, "300.00")
    declare(budget, ana, "200.00")
    declare(budget, ben, "100.00")
    period_close(period=period_at(budget, 0), actor=everyone["alice"])
    forget()
    payouts_mark_paid(collective=collective, payout_ids=list(Payout.objects.values_list("pk", flat=True)),
                      actor=everyone["carol"], paid_on=date(2025, 2, 1), reference="VIR-9")
    assert told("payout.paid") == only(ana, ben)
    sentence = text("payout.paid", ana)
    assert "€500.00" in sentence and "Feb. 1, 2025" in sentence and "Semaine" in sentence
    assert "€100.00" in text("payout.paid", ben)


def test_a_service_that_fails_after_telling_people_leaves_nobody_told(collective, everyone, monkeypatch):
    budget = make_budget(collective, everyone["alice"], received=None, pledged="2000.00")
    ana = person(collective, 1)
    declare(budget, ana, "300.00")
    period_close(period=period_at(budget, 0), actor=everyone["alice"])
    forget()

    def audit_fails(**kwargs):
        raise RuntimeError("audit log unavailable")

    # The payees are told (payout.payable) before the funding's audit record is written: the failure must undo both.
    monkeypatch.setattr("budgets.fundings.audit_record", audit_fails)
    with pytest.raises(RuntimeError):
        funding_create(budget=budget, actor=everyone["alice"], source="Région", amount="1000.00", status="received")
    assert recorded().count() == 0
    assert not Funding.objects.filter(source="Région").exists()


# ---------------------------------------------------------------------------
# cobudget rounds and buckets


def new_round(collective, actor, *, open=True, **fields):
    fields.setdefault("name", "Round 2026")
    fields.setdefault("envelope_policy", "equal")
    fields.setdefault("envelope_amount", D("100.00"))
    round = cobudget.round_create(collective=collective, actor=actor, **fields)
    return cobudget.round_open(round=round, actor=actor) if open else round


def new_bucket(round, by, *, title="Four à pain", min_goal="100.00", max_goal=None, carriers=(), propose=True):
    bucket = cobudget.bucket_create(round=round, actor=by, title=title, carriers=carriers,
                                    lines=[{"description": "Tout", "min_amount": min_goal, "max_amount": max_goal}])
    return cobudget.bucket_propose(bucket=bucket, actor=by) if propose else bucket


def test_opening_a_round_tells_each_participant_their_envelope(collective, everyone):
    round = new_round(collective, everyone["alice"], open=False, participants=[everyone["bob"], everyone["gaelle"]],
                      envelope_amount=D("1250.00"))
    cobudget.round_open(round=round, actor=everyone["alice"])
    assert told("round.opened") == only(everyone["bob"], everyone["gaelle"])
    sentence = text("round.opened", everyone["gaelle"])
    assert "Round 2026" in sentence and "€1,250.00" in sentence


def test_the_opener_is_not_told_of_the_round_they_open(collective, everyone):
    new_round(collective, everyone["alice"])  # participants by default: the member role (Alice, Bob, Gaëlle)
    assert told("round.opened") == only(everyone["bob"], everyone["gaelle"])


def test_closing_a_round_tells_each_participant_their_own_results(collective, everyone):
    bob, gaelle = everyone["bob"], everyone["gaelle"]
    round = new_round(collective, everyone["alice"], participants=[bob, gaelle])
    oven = new_bucket(round, bob, min_goal="50.00", max_goal="100.00")
    garden = new_bucket(round, gaelle, title="Jardin", min_goal="100.00")
    cobudget.allocation_create(bucket=oven, actor=gaelle, amount="60.00")
    cobudget.allocation_create(bucket=oven, actor=bob, amount="40.00")
    cobudget.allocation_create(bucket=garden, actor=bob, amount="10.00")
    forget()
    cobudget.round_close(round=round, actor=everyone["alice"])
    assert told("round.closed") == only(bob, gaelle)
    bob_text, gaelle_text = text("round.closed", bob), text("round.closed", gaelle)
    assert "Round 2026" in bob_text and "1 bucket of 2 is funded" in bob_text and "€40.00" in bob_text
    assert "€60.00" in gaelle_text
    # A person's results are theirs: nobody else's name or gift appears.
    assert "Gaëlle" not in bob_text and "€60.00" not in bob_text
    assert "Bob" not in gaelle_text and "€40.00" not in gaelle_text


def test_a_proposal_waiting_for_approval_tells_the_coordinators(collective, everyone):
    round = new_round(collective, everyone["alice"], bucket_approval_required=True)
    new_bucket(round, everyone["bob"], title="Vélo cargo")
    assert told("bucket.proposed") == only(everyone["alice"], everyone["farid"])
    sentence = text("bucket.proposed", everyone["farid"])
    assert "Bob" in sentence and "Vélo cargo" in sentence and "Round 2026" in sentence


def test_a_coordinator_proposing_is_not_told_of_their_own_proposal(collective, everyone):
    round = new_round(collective, everyone["alice"], bucket_approval_required=True)
    new_bucket(round, everyone["alice"])
    assert told("bucket.proposed") == only(everyone["farid"])


def test_a_proposal_that_needs_no_approval_tells_nobody(collective, everyone):
    round = new_round(collective, everyone["alice"])
    forget()
    new_bucket(round, everyone["bob"])
    assert recorded().count() == 0


def test_approval_tells_the_carriers(collective, everyone):
    round = new_round(collective, everyone["alice"], bucket_approval_required=True)
    bucket = new_bucket(round, everyone["bob"], title="Vélo cargo", carriers=[everyone["gaelle"]])
    cobudget.bucket_approve(bucket=bucket, actor=everyone["farid"])
    assert told("bucket.approved") == only(everyone["bob"], everyone["gaelle"])
    assert "Vélo cargo" in text("bucket.approved", everyone["gaelle"])


def test_a_funded_bucket_tells_its_carriers_once_without_naming_who_gave(collective, everyone):
    bob, gaelle = everyone["bob"], everyone["gaelle"]
    round = new_round(collective, everyone["alice"], hide_allocations_until_close=True)
    bucket = new_bucket(round, bob, title="Four à pain", min_goal="50.00", max_goal="100.00")
    cobudget.allocation_create(bucket=bucket, actor=gaelle, amount="70.00")
    assert told("bucket.funded") == Counter()
    cobudget.allocation_create(bucket=bucket, actor=everyone["alice"], amount="30.00")
    assert told("bucket.funded") == only(bob)
    sentence = text("bucket.funded", bob)
    assert "Four à pain" in sentence and "€100.00" in sentence
    assert "Gaëlle" not in sentence and "Alice" not in sentence
    notification = recorded().get(kind="bucket.funded")
    assert set(notification.params) == {"bucket", "funded"}
    cobudget.round_close(round=round, actor=None)
    assert told("bucket.funded") == only(bob)


def test_a_bucket_that_reaches_its_minimum_tells_its_carriers_at_the_close(collective, everyone):
    bob, gaelle = everyone["bob"], everyone["gaelle"]
    round = new_round(collective, everyone["alice"])
    bucket = new_bucket(round, bob, title="Four à pain", min_goal="50.00", max_goal="100.00",
                        carriers=[gaelle])
    cobudget.allocation_create(bucket=bucket, actor=gaelle, amount="60.00")
    assert told("bucket.funded") == Counter()
    cobudget.round_close(round=round, actor=None)
    assert told("bucket.funded") == only(bob, gaelle)
    assert "€60.00" in text("bucket.funded", bob) and "Gaëlle" not in text("bucket.funded", bob)


def test_a_comment_tells_the_carriers_but_not_its_author(collective, everyone):
    bob, gaelle = everyone["bob"], everyone["gaelle"]
    round = new_round(collective, everyone["alice"])
    bucket = new_bucket(round, bob, title="Four à pain", carriers=[gaelle])
    cobudget.bucket_comment(bucket=bucket, actor=gaelle, body="J'apporte la farine.")
    assert told("bucket.commented") == only(bob)
    sentence = text("bucket.commented", bob)
    assert "Gaëlle" in sentence and "Four à pain" in sentence and "J'apporte la farine." in sentence
    forget()
    cobudget.bucket_comment(bucket=bucket, actor=everyone["alice"], body="Quel four ?")
    assert told("bucket.commented") == only(bob, gaelle)


# ---------------------------------------------------------------------------
# invitations


def test_an_invitation_tells_a_person_who_already_has_an_account(collective, everyone):
    invitation_create(collective=collective, actor=everyone["alice"], email="charlie@example.org",
                      roles=[Role.MEMBER.value])
    assert told("invitation.received") == only(everyone["charlie"])
    sentence = text("invitation.received", everyone["charlie"])
    assert "Alice" in sentence and "invited you to join La Fabrique" in sentence


def test_an_invitation_to_an_address_a_person_has_verified_tells_them_and_an_unverified_one_does_not(
        collective, everyone):
    charlie = everyone["charlie"]
    EmailAddress.objects.create(user=charlie, email="charlie@atelier.example", verified=True)
    EmailAddress.objects.create(user=everyone["gaelle"], email="gaelle@atelier.example", verified=False)
    invitation_create(collective=collective, actor=everyone["alice"], email="gaelle@atelier.example",
                      roles=[Role.MEMBER.value])
    assert told("invitation.received") == Counter()
    invitation_create(collective=collective, actor=everyone["alice"], email="charlie@atelier.example",
                      roles=[Role.MEMBER.value])
    assert told("invitation.received") == only(charlie)


def test_inviting_an_address_without_an_account_records_nothing(collective, everyone):
    invitation = member_add(collective=collective, actor=everyone["alice"], email="nouvelle@example.org",
                            roles=[Role.MEMBER.value])
    assert isinstance(invitation, Invitation)
    assert recorded().count() == 0


def test_a_known_person_is_invited_not_added_and_told_where_to_answer(collective, everyone):
    charlie = everyone["charlie"]
    invitation = member_add(collective=collective, actor=everyone["alice"], email="Charlie@example.org",
                            roles=[Role.CONTRIBUTOR.value])
    assert isinstance(invitation, Invitation)
    assert not Membership.objects.filter(collective=collective, user=charlie).exists()
    assert told("invitation.received") == only(charlie)
    assert "Alice invited you to join La Fabrique" in text("invitation.received", charlie)
    notification = recorded().get(kind="invitation.received", recipient=charlie)
    assert notification.url == reverse("invitation_accept", args=[invitation.token])
    assert "added" not in notification.params


# ---------------------------------------------------------------------------
# exports


@pytest.fixture
def media_root(tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return settings.MEDIA_ROOT


def test_a_ready_export_tells_who_asked_and_nobody_else(collective, everyone, media_root):
    export = accounting.export_request(collective=collective, actor=everyone["carol"], kind="journal", fmt="csv",
                                       params={})
    accounting.export_run(export_id=export.pk)
    assert told("export.ready") == only(everyone["carol"])
    assert told("export.failed") == Counter()
    sentence = text("export.ready", everyone["carol"])
    assert "is ready" in sentence and "(0 rows)" in sentence


def test_a_failed_export_tells_who_asked_and_nobody_else(collective, everyone, media_root, monkeypatch):
    def broken(export):
        raise RuntimeError("disk full")

    monkeypatch.setattr(accounting, "_write", broken)
    export = accounting.export_request(collective=collective, actor=everyone["alice"], kind="journal", fmt="csv",
                                       params={})
    accounting.export_run(export_id=export.pk)
    assert told("export.failed") == only(everyone["alice"])
    assert told("export.ready") == Counter()
    assert "could not be written" in text("export.failed", everyone["alice"])


# ---------------------------------------------------------------------------
# each person's settings


def test_a_kind_switched_off_everywhere_records_nothing_for_that_person(declared, everyone, collective):
    notification_settings_update(user=everyone["bob"],
                                 kinds={"contribution.questioned": {"email": "off", "in_app": False}})
    contributions.contribution_question(contribution=declared, actor=everyone["gaelle"], comment="Combien ?")
    assert told("contribution.questioned") == Counter()
    # Only that kind: a decision still reaches him.
    contributions.contribution_reject(contribution=declared, membership=membership(collective, everyone["alice"]),
                                      reason="Doublon")
    assert told("contribution.rejected") == only(everyone["bob"])


def test_in_app_off_with_instant_email_records_one_hidden_from_the_inbox(declared, everyone):
    notification_settings_update(user=everyone["bob"], kinds={"contribution.questioned": {"in_app": False}})
    contributions.contribution_question(contribution=declared, actor=everyone["gaelle"], comment="Combien ?")
    assert told("contribution.questioned") == only(everyone["bob"])
    notification = recorded().get(kind="contribution.questioned")
    assert (notification.in_app, notification.email) == (False, EmailMode.INSTANT)
    assert list(selectors.inbox(everyone["bob"])) == []
    assert selectors.unread_count(everyone["bob"]) == 0


def test_a_daily_email_setting_is_frozen_on_the_notification_and_it_shows_in_the_inbox(declared, everyone):
    notification_settings_update(user=everyone["bob"], kinds={"contribution.questioned": {"email": "daily"}})
    contributions.contribution_question(contribution=declared, actor=everyone["gaelle"], comment="Combien ?")
    notification = recorded().get(kind="contribution.questioned")
    assert (notification.in_app, notification.email) == (True, EmailMode.DAILY)
    assert list(selectors.inbox(everyone["bob"])) == [notification]
