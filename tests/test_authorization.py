"""Every write service refuses exactly whom the API refuses.

Each case calls a service directly (as a task, a command or a second API would) and the matching endpoint,
as one person holding one role (or none: someone from another collective). The service must raise Forbidden
exactly when the API answers 403 (404 for a non-member, whose API does not even admit the collective exists).
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounting import services as accounting
from accounting.incoming import services as incoming
from budgets import batches, corrections, fundings, payouts
from budgets import services as budgets
from budgets.models import Budget, Envelope, Funding, Payout, PayoutBatch, Period, Task
from cobudget import services as cobudget
from cobudget.models import BucketFlag, Round, RoundTemplate
from contrib_budget.errors import DomainError, Forbidden
from contributions import closing
from contributions import services as declarations
from contributions.models import Contribution
from members import bank
from members import services as members
from members.models import Collective, Membership, Role, User
from tests.factories import CollectiveFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = [Role.COORDINATOR, Role.CONTRIBUTOR, Role.MEMBER, Role.ACCOUNTANT, None]
IBAN = "FR7630006000011234567890189"


@dataclass
class World:
    collective: Collective
    coordinator: User
    budget: Budget
    envelope: Envelope
    task: Task
    pledged: Funding
    received: Funding
    closed_period: Period
    open_period: Period
    payout: Payout
    pending: Contribution
    round: Round
    target: Membership

    def url(self, name: str, **kwargs) -> str:
        return reverse(name, kwargs={"collective_slug": self.collective.slug, **kwargs})


@pytest.fixture
def world() -> World:
    collective = CollectiveFactory(name="La Fabrique", slug="la-fabrique")
    coordinator = MembershipFactory(collective=collective, user=UserFactory(email="alice@example.org"),
                                    roles=[Role.COORDINATOR.value]).user
    author = MembershipFactory(collective=collective, user=UserFactory(email="bob@example.org"),
                               roles=[Role.CONTRIBUTOR.value])
    budget = budgets.budget_create(collective=collective, actor=coordinator, name="Ateliers", period_kind="month",
                                   starts_on=date(2025, 1, 1), amount_per_period=Decimal("1000.00"))
    envelope = budgets.envelope_create(budget=budget, actor=coordinator, name="Accueil", amount="500.00")
    task = budgets.task_create(budget=budget, actor=coordinator, envelope=envelope, title="Permanence")
    received = fundings.funding_create(budget=budget, actor=coordinator, source="Région", amount="5000.00",
                                       status="received", received_on=date(2025, 1, 2))
    pledged = fundings.funding_create(budget=budget, actor=coordinator, source="Mairie", amount="100.00")

    def declare(day: date) -> Contribution:
        declaration = declarations.Declaration(budget=budget, performed_on=day, description="Travail", minutes=0,
                                               value_mode="self_assessed", amount=Decimal("50.00"))
        return declarations.contribution_declare(collective=collective, membership=author, declaration=declaration)

    coordinating = Membership.objects.get(collective=collective, user=coordinator)
    declarations.contribution_validate(contribution=declare(date(2025, 1, 10)), membership=coordinating)
    closed_period = closing.period_close(period=Period.objects.get(budget=budget, index=0), actor=coordinator)
    return World(
        collective=collective, coordinator=coordinator, budget=budget, envelope=envelope, task=task,
        pledged=pledged, received=received, closed_period=closed_period,
        open_period=Period.objects.get(budget=budget, index=1), payout=Payout.objects.get(),
        pending=declare(date(2025, 2, 10)),
        round=cobudget.round_create(collective=collective, actor=coordinator, name="Printemps",
                                    envelope_amount="10.00", participants=[coordinator]),
        target=author,
    )


def _person(world: World, role: Role | None) -> User:
    if role is None:
        elsewhere = CollectiveFactory(name="Ailleurs", slug="ailleurs")
        return MembershipFactory(collective=elsewhere, user=UserFactory(email="outsider@example.org"),
                                 roles=[Role.COORDINATOR.value]).user
    return MembershipFactory(collective=world.collective, user=UserFactory(email=f"{role.value}@example.org"),
                             roles=[role.value]).user


def _membership(world: World, person: User) -> Membership:
    return Membership.objects.get(collective=world.collective, user=person)


DONATIONS = "id,date,donor,amount,currency\n1,2025-03-01,Mairie,100.00,EUR\n"


def _previewed(world: World):
    """An import of incoming money, previewed by the coordinator: it proposes to receive the pledge."""
    return incoming.funding_import_preview(collective=world.collective, actor=world.coordinator, fmt="liberapay",
                                           text=DONATIONS, budget=world.budget)


def _batched(world: World) -> PayoutBatch:
    """The payout sent out in a payroll batch by the coordinator (the same batch however often it is asked for)."""
    prepared = PayoutBatch.objects.filter(status="prepared").first()
    if prepared:
        return prepared
    author = world.target.user
    bank.bank_details_set(collective=world.collective, person=author, actor=author, method="payroll",
                          payroll_reference="MAT-7")
    return batches.batch_create(collective=world.collective, actor=world.coordinator, payout_ids=[world.payout.pk],
                                method="payroll")


def _flagged(world: World) -> BucketFlag:
    """A bucket of the opened round flagged by a member (the same flag however often it is asked for)."""
    flag = BucketFlag.objects.first()
    if flag:
        return flag
    round = cobudget.round_open(round=world.round, actor=world.coordinator)
    bucket = cobudget.bucket_create(round=round, actor=world.coordinator, title="Four à pain",
                                    lines=[{"description": "Briques", "min_amount": "50.00", "max_amount": None}])
    bucket = cobudget.bucket_propose(bucket=bucket, actor=world.coordinator)
    return cobudget.bucket_flag(bucket=bucket, actor=world.target.user, reason="Hors charte")


def _templated(world: World) -> RoundTemplate:
    """The round saved as a template by the coordinator (the same template however often it is asked for)."""
    return RoundTemplate.objects.first() or cobudget.round_template_save(round=world.round, actor=world.coordinator,
                                                                         name="Chaque mois")


def _kept(world: World):
    """The flagged bucket, its round saved as a template: a bucket its carriers may keep for the next round."""
    _templated(world)
    return _flagged(world).bucket


def _redistributing(world: World) -> Round:
    """An open live round whose buckets below their minimum are redistributed (the same one however often asked)."""
    round = Round.objects.filter(partial_policy="redistribute").first()
    if round:
        return round
    round = cobudget.round_create(collective=world.collective, actor=world.coordinator, name="Second souffle",
                                  envelope_amount="10.00", participants=[world.coordinator],
                                  partial_policy="redistribute")
    return cobudget.round_open(round=round, actor=world.coordinator)


@dataclass(frozen=True)
class Case:
    name: str
    service: object  # (world, person) -> anything; raises Forbidden when the person may not
    method: str
    endpoint: object  # world -> URL
    body: object = None  # world -> request data
    members_only: bool = False  # the service takes the person's membership: a non-member has none to give


CASES = [
    Case("budget_create",
         lambda w, p: budgets.budget_create(collective=w.collective, actor=p, name="B2", period_kind="month",
                                            starts_on=date(2025, 1, 1)),
         "post", lambda w: w.url("api-budgets"),
         lambda w: {"name": "B3", "period_kind": "month", "starts_on": "2025-01-01"}),
    Case("budget_update", lambda w, p: budgets.budget_update(budget=w.budget, actor=p, description="Plus"),
         "patch", lambda w: w.url("api-budget", budget_id=w.budget.pk), lambda w: {"description": "Encore"}),
    Case("envelope_create",
         lambda w, p: budgets.envelope_create(budget=w.budget, actor=p, name="Atelier", amount="10.00"),
         "post", lambda w: w.url("api-envelopes", budget_id=w.budget.pk),
         lambda w: {"name": "Jardin", "amount": "10.00"}),
    Case("envelope_update", lambda w, p: budgets.envelope_update(envelope=w.envelope, actor=p, name="Entrée"),
         "patch", lambda w: w.url("api-envelope", budget_id=w.budget.pk, envelope_id=w.envelope.pk),
         lambda w: {"name": "Hall"}),
    Case("task_create",
         lambda w, p: budgets.task_create(budget=w.budget, actor=p, envelope=w.envelope, title="Affiches"),
         "post", lambda w: w.url("api-tasks", budget_id=w.budget.pk),
         lambda w: {"envelope": w.envelope.pk, "title": "Rangement"}),
    Case("task_update", lambda w, p: budgets.task_update(task=w.task, actor=p, title="Permanence du samedi"),
         "patch", lambda w: w.url("api-task", budget_id=w.budget.pk, task_id=w.task.pk),
         lambda w: {"title": "Permanence du dimanche"}),
    Case("funding_create",
         lambda w, p: fundings.funding_create(budget=w.budget, actor=p, source="Don", amount="20.00"),
         "post", lambda w: w.url("api-fundings", budget_id=w.budget.pk),
         lambda w: {"source": "Adhésions", "amount": "30.00", "status": "pledged"}),
    Case("funding_receive", lambda w, p: fundings.funding_receive(funding=w.pledged, actor=p),
         "post", lambda w: w.url("api-collective-funding-receive", funding_id=w.pledged.pk), lambda w: {}),
    Case("funding_cancel", lambda w, p: fundings.funding_cancel(funding=w.pledged, actor=p, reason="Doublon"),
         "post", lambda w: w.url("api-collective-funding-cancel", funding_id=w.pledged.pk),
         lambda w: {"reason": "Saisie en double"}),
    Case("payouts_mark_paid",
         lambda w, p: payouts.payouts_mark_paid(collective=w.collective, payout_ids=[w.payout.pk], actor=p,
                                                paid_on=date(2025, 2, 5), reference="VIR-1"),
         "post", lambda w: w.url("api-payouts-mark-paid"), lambda w: {"payouts": [w.payout.pk], "reference": "V"}),
    Case("batch_create",
         lambda w, p: batches.batch_create(collective=w.collective, actor=p, payout_ids=[w.payout.pk],
                                           method="payroll"),
         "post", lambda w: w.url("api-payout-batches"), lambda w: {"payouts": [w.payout.pk], "method": "payroll"}),
    Case("batch_cancel", lambda w, p: batches.batch_cancel(batch=_batched(w), actor=p),
         "post", lambda w: w.url("api-payout-batch-cancel", payout_batch_id=_batched(w).pk), lambda w: {}),
    Case("batch_mark_sent", lambda w, p: batches.batch_mark_sent(batch=_batched(w), actor=p),
         "post", lambda w: w.url("api-payout-batch-sent", payout_batch_id=_batched(w).pk), lambda w: {}),
    Case("payout_reverse", lambda w, p: corrections.payout_reverse(payout=w.payout, actor=p, reason="Erreur"),
         "post", lambda w: w.url("api-payout-reverse", payout_id=w.payout.pk), lambda w: {"reason": "Doublon"}),
    Case("payout_correct",
         lambda w, p: corrections.payout_correct(payout=w.payout, actor=p, amount="1.00", reason="Trop"),
         "post", lambda w: w.url("api-payout-correct", payout_id=w.payout.pk),
         lambda w: {"amount": "1.00", "reason": "Trop payé"}),
    Case("period_close", lambda w, p: closing.period_close(period=w.open_period, actor=p),
         "post", lambda w: w.url("api-period-close", period_id=w.open_period.pk), lambda w: {}),
    Case("contribution_validate",
         lambda w, p: declarations.contribution_validate(contribution=w.pending, membership=_membership(w, p)),
         "post", lambda w: w.url("api-contributions-validate", pk=w.pending.pk), lambda w: {}, members_only=True),
    Case("contribution_reject",
         lambda w, p: declarations.contribution_reject(contribution=w.pending, membership=_membership(w, p),
                                                       reason="Hors budget"),
         "post", lambda w: w.url("api-contributions-reject", pk=w.pending.pk), lambda w: {"reason": "Non"},
         members_only=True),
    Case("round_create", lambda w, p: cobudget.round_create(collective=w.collective, actor=p, name="Été"),
         "post", lambda w: w.url("api-cobudget-rounds-list"), lambda w: {"name": "Automne"}),
    Case("round_update", lambda w, p: cobudget.round_update(round=w.round, actor=p, description="Projets"),
         "patch", lambda w: w.url("api-cobudget-rounds-detail", pk=w.round.pk), lambda w: {"description": "Idées"}),
    Case("round_open", lambda w, p: cobudget.round_open(round=w.round, actor=p),
         "post", lambda w: w.url("api-cobudget-rounds-open", pk=w.round.pk), lambda w: {}),
    Case("bucket_support",
         lambda w, p: cobudget.bucket_support(bucket=_flagged(w).bucket, actor=p),
         "post", lambda w: w.url("api-cobudget-buckets-support", pk=_flagged(w).bucket_id), lambda w: {"score": 1}),
    Case("bucket_flag_resolve",
         lambda w, p: cobudget.bucket_flag_resolve(flag=_flagged(w), actor=p, resolution="Revu"),
         "post", lambda w: w.url("api-cobudget-flag-resolve", bucket_flag_id=_flagged(w).pk),
         lambda w: {"resolution": "Revu ensemble"}),
    # Only a participant of the (open, live) round delegates their wallet or takes it back; these people have none.
    Case("wallet_delegate",
         lambda w, p: cobudget.wallet_delegate(round=_flagged(w).bucket.round, actor=p, delegate=w.coordinator),
         "post", lambda w: w.url("api-cobudget-round-delegation", round_id=_flagged(w).bucket.round_id),
         lambda w: {"delegate": w.coordinator.pk}),
    Case("wallet_delegation_revoke",
         lambda w, p: cobudget.wallet_delegation_revoke(round=_flagged(w).bucket.round, actor=p),
         "delete", lambda w: w.url("api-cobudget-round-delegation", round_id=_flagged(w).bucket.round_id),
         lambda w: None),
    Case("round_template_save",
         lambda w, p: cobudget.round_template_save(round=w.round, actor=p, name="Trimestriel"),
         "post", lambda w: w.url("api-cobudget-round-templates"), lambda w: {"round": w.round.pk, "name": "Mensuel"}),
    Case("round_template_update",
         lambda w, p: cobudget.round_template_update(template=_templated(w), actor=p, funding_days=20),
         "patch", lambda w: w.url("api-cobudget-round-template", round_template_id=_templated(w).pk),
         lambda w: {"funding_days": 10}),
    Case("round_template_delete", lambda w, p: cobudget.round_template_delete(template=_templated(w), actor=p),
         "delete", lambda w: w.url("api-cobudget-round-template", round_template_id=_templated(w).pk),
         lambda w: None),
    Case("round_from_template",
         lambda w, p: cobudget.round_from_template(template=_templated(w), occurrence=timezone.localdate(), actor=p),
         "post", lambda w: w.url("api-cobudget-round-template-run", round_template_id=_templated(w).pk),
         lambda w: {}),
    # Its carriers or a coordinator keep a bucket for the next round; the coordinator carries this one.
    Case("bucket_carry_over", lambda w, p: cobudget.bucket_carry_over(bucket=_kept(w), actor=p, keep=True),
         "post", lambda w: w.url("api-cobudget-bucket-carry-over", bucket_id=_kept(w).pk), lambda w: {"keep": True}),
    Case("redistribution_first_close",
         lambda w, p: cobudget.redistribution_first_close(round=_redistributing(w), actor=p),
         "post", lambda w: w.url("api-cobudget-rounds-close", pk=_redistributing(w).pk), lambda w: {}),
    Case("export_request",
         lambda w, p: accounting.export_request(collective=w.collective, actor=p, kind="journal", fmt="csv",
                                                params={}),
         "post", lambda w: w.url("api-export-list"), lambda w: {"kind": "journal", "format": "csv"}),
    Case("period_lock", lambda w, p: accounting.period_lock(period=w.closed_period, actor=p),
         "post", lambda w: w.url("api-period-lock", period_id=w.closed_period.pk), lambda w: {}),
    Case("funding_import_preview",
         lambda w, p: incoming.funding_import_preview(collective=w.collective, actor=p, fmt="liberapay",
                                                      text=DONATIONS, budget=w.budget),
         "post", lambda w: w.url("api-funding-imports"), lambda w: {"format": "liberapay"}),
    Case("funding_import_apply", lambda w, p: incoming.funding_import_apply(funding_import=_previewed(w), actor=p),
         "post", lambda w: w.url("api-funding-import-apply", funding_import_id=_previewed(w).pk), lambda w: {}),
    Case("collective_update", lambda w, p: members.collective_update(collective=w.collective, actor=p, name="LF"),
         "patch", lambda w: reverse("api-collective", kwargs={"collective_slug": w.collective.slug}),
         lambda w: {"name": "La Fabrique du quartier"}),
    Case("member_add",
         lambda w, p: members.member_add(collective=w.collective, actor=p, email="dora@example.org",
                                         roles=["member"]),
         "post", lambda w: w.url("api-members-list"), lambda w: {"email": "eve@example.org", "roles": ["member"]}),
    Case("membership_set_roles",
         lambda w, p: members.membership_set_roles(membership=w.target, actor=p, roles=["contributor", "member"]),
         "patch", lambda w: w.url("api-members-detail", pk=w.target.pk), lambda w: {"roles": ["contributor"]}),
    Case("membership_remove", lambda w, p: members.membership_remove(membership=w.target, actor=p),
         "delete", lambda w: w.url("api-members-detail", pk=w.target.pk), lambda w: None),
    # Everyone records their own bank details; the collective's account is the coordinators'.
    Case("bank_details_set",
         lambda w, p: bank.bank_details_set(collective=w.collective, person=p, actor=p, method="payroll",
                                            payroll_reference="MAT-1"),
         "put", lambda w: w.url("api-my-bank-details"), lambda w: {"method": "payroll", "payroll_reference": "M-2"}),
    Case("collective_bank_account_set",
         lambda w, p: bank.collective_bank_account_set(collective=w.collective, actor=p, bank_iban=IBAN,
                                                       bank_bic="", bank_holder="La Fabrique"),
         "patch", lambda w: reverse("api-collective", kwargs={"collective_slug": w.collective.slug}),
         lambda w: {"bank_iban": IBAN, "bank_holder": "La Fabrique asso"}),
]


def _refused_by_service(case: Case, world: World, person: User) -> bool:
    try:
        case.service(world, person)
    except Forbidden:
        return True
    except DomainError:
        return False  # allowed, and refused for another reason (a conflict, a missing decision...)
    return False


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role.value if role else "non_member")
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_a_service_refuses_exactly_whom_its_endpoint_refuses(case, role, world, api):
    if case.members_only and role is None:
        pytest.skip("the service is given the person's membership in the collective; a non-member has none")
    person = _person(world, role)
    response = getattr(api(person), case.method)(case.endpoint(world), case.body(world), format="json")
    refused_by_api = response.status_code in (403, 404)
    if role is None:
        assert response.status_code == 404, response.content
    assert _refused_by_service(case, world, person) == refused_by_api, (
        f"{case.name} as {role}: the API answered {response.status_code} {response.content[:200]!r}")


def test_beat_closes_periods_and_rounds_without_an_actor(world):
    """The system acting for nobody (beat jobs) is refused nothing the collective's rules scheduled."""
    assert closing.period_close(period=world.open_period, actor=None).status == "closed"
    cobudget.round_open(round=world.round, actor=world.coordinator)
    assert cobudget.round_close(round=world.round, actor=None).status == "closed"
