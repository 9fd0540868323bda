"""A collective with `n` rows of everything, for tests that compare pages at several sizes.

Rows that carry no money (people, memberships, invitations, tasks, notifications, exports, documents, comments)
are inserted in bulk; money moves through the services, so the ledger, balances and payouts stay exact. Every
label has the same width at every size (numbers are zero-padded), so a page's size changes only with the number
of rows it shows.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from accounting.incoming.services import funding_import_preview
from accounting.models import Export, IssuedDocument
from budgets.batches import batch_cancel, batch_create
from budgets.fundings import funding_create
from budgets.models import Budget, Envelope, Payout, Period, Task
from budgets.payouts import payouts_mark_paid
from budgets.selectors import PAYABLE
from budgets.services import budget_create
from cobudget import services as cobudget
from cobudget.models import Bucket, Round
from contributions import services as declarations
from contributions.closing import period_close
from contributions.models import Comment, CommentKind, Contribution
from members import services as members
from members.bank import bank_details_set
from members.models import AuditEvent, Collective, Invitation, Membership, Role, User
from members.notifications.models import Notification

COORDINATOR_ROLES = [Role.COORDINATOR.value, Role.CONTRIBUTOR.value, Role.MEMBER.value]
PEOPLE_ROLES = [Role.CONTRIBUTOR.value, Role.MEMBER.value]


@dataclass
class Bounded:
    """The collective and the objects whose pages the walk opens (the first of each kind)."""

    collective: Collective
    coordinator: User
    accountant: User
    people: list[User]
    budget: Budget
    closed_period: Period
    open_period: Period
    round: Round
    bucket: Bucket
    contribution: Contribution


def _label(kind: str, index: int) -> str:
    return f"{kind} {index:04d}"


def _people(collective: Collective, tag: str, n: int) -> list[User]:
    password = make_password("bounded")
    users = User.objects.bulk_create(
        User(email=f"{tag}-person-{i:04d}@example.org", name=_label("Person", i), password=password) for i in range(n)
    )
    EmailAddress.objects.bulk_create(EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users)
    Membership.objects.bulk_create(Membership(collective=collective, user=u, roles=PEOPLE_ROLES) for u in users)
    Invitation.objects.bulk_create(
        Invitation(collective=collective, email=f"{tag}-invited-{i:04d}@example.org", roles=[Role.MEMBER.value],
                   invited_by=users[0]) for i in range(n)
    )
    AuditEvent.objects.bulk_create(
        AuditEvent(collective=collective, actor=users[0], action="membership.added", target_type="membership",
                   target_id=str(u.pk), target_label=u.email, after={"email": u.email}) for u in users
    )
    return users


def _collective(tag: str) -> tuple[Collective, User, User]:
    coordinator = User.objects.create(email=f"{tag}-coordinator@example.org", name="Coordinator")
    accountant = User.objects.create(email=f"{tag}-accountant@example.org", name="Accountant")
    collective = members.collective_create(creator=coordinator, name=f"Bounded {tag}", slug=f"bounded-{tag}")
    Membership.objects.filter(collective=collective, user=coordinator).update(roles=COORDINATOR_ROLES)
    Membership.objects.create(collective=collective, user=accountant, roles=[Role.ACCOUNTANT.value])
    return collective, coordinator, accountant


def _budgets(collective: Collective, coordinator: User, n: int) -> Budget:
    """The first budget has `n` weeks of periods, fundings, envelopes and tasks; `n` - 1 smaller budgets follow."""
    monday = timezone.localdate() - timedelta(days=timezone.localdate().weekday())
    budget = budget_create(
        collective=collective, actor=coordinator, name="Budget 0000", period_kind="week",
        starts_on=monday - timedelta(weeks=n), amount_per_period=Decimal("100000.00"),
        rate_levels=[{"name": _label("Level", i), "hourly_rate": Decimal("20.00")} for i in range(3)],
    )
    for i in range(n):
        funding_create(budget=budget, actor=coordinator, source=_label("Source", i), amount=Decimal("1000.00"),
                       status="received", received_on=budget.starts_on)
    envelopes = Envelope.objects.bulk_create(
        Envelope(collective=collective, budget=budget, name=_label("Envelope", i), amount=Decimal("10.00"))
        for i in range(n)
    )
    Task.objects.bulk_create(
        Task(collective=collective, envelope=e, title=_label("Task", i)) for i, e in enumerate(envelopes)
    )
    for i in range(1, n):
        budget_create(collective=collective, actor=coordinator, name=_label("Budget", i), period_kind="month",
                      starts_on=monday, amount_per_period=Decimal("100.00"))
    return budget


def _declare(collective: Collective, budget: Budget, period: Period, people: list[User]) -> list[Contribution]:
    level = budget.rate_levels.order_by("pk").first()
    made = []
    for i, person in enumerate(people):
        declaration = declarations.Declaration(
            budget=budget, performed_on=period.starts_on, description=_label("Work", i), minutes=60,
            value_mode="time_rate", rate_level=level)
        membership = Membership.objects.get(collective=collective, user=person)
        made.append(declarations.contribution_declare(collective=collective, membership=membership,
                                                      declaration=declaration))
    return made


def _comments(contribution: Contribution, people: list[User]) -> None:
    Comment.objects.bulk_create(
        Comment(collective=contribution.collective, contribution=contribution, author=p, kind=CommentKind.QUESTION,
                body=_label("Question", i)) for i, p in enumerate(people)
    )


def _closed_period(collective: Collective, coordinator: User, accountant: User, budget: Budget,
                   people: list[User]) -> Period:
    """Period 0: one validated declaration per person, closed into payouts; one is paid, the others payable."""
    period = Period.objects.get(budget=budget, index=0)
    review = Membership.objects.get(collective=collective, user=coordinator)
    for contribution in _declare(collective, budget, period, people):
        declarations.contribution_validate(contribution=contribution, membership=review)
    period_close(period=period, actor=coordinator)
    first = Payout.objects.filter(period=period).order_by("pk").first()
    payouts_mark_paid(collective=collective, payout_ids=[first.pk], actor=accountant,
                      paid_on=timezone.localdate(), reference="PAID")
    return period


def _batches(collective: Collective, accountant: User, people: list[User], period: Period) -> None:
    """The payable payouts of the closed period sent one by one in payroll batches, each cancelled, then all
    together in the last one: as many batches as payouts, the first holding one and the last all of them."""
    for someone in people:
        bank_details_set(collective=collective, person=someone, actor=someone, method="payroll",
                         payroll_reference=_label("Payroll", someone.pk))
    payable = list(Payout.objects.filter(PAYABLE, period=period).order_by("pk").values_list("pk", flat=True))
    for pk in payable:
        batch_cancel(batch=batch_create(collective=collective, actor=accountant, payout_ids=[pk], method="payroll"),
                     actor=accountant)
    batch_create(collective=collective, actor=accountant, payout_ids=payable, method="payroll")


def _round(collective: Collective, coordinator: User, people: list[User], n: int) -> tuple[Round, Bucket]:
    """An open round of `n` approved buckets; each person gives to the first, which gets `n` comments."""
    round = cobudget.round_create(collective=collective, actor=coordinator, name="Round 0000",
                                  envelope_policy="equal", envelope_amount=Decimal("100.00"),
                                  bucket_approval_required=True)
    cobudget.round_open(round=round, actor=coordinator)
    buckets = []
    for i in range(n):
        bucket = cobudget.bucket_create(round=round, actor=coordinator, title=_label("Bucket", i),
                                        lines=[{"description": "All", "min_amount": "100000.00", "max_amount": None}])
        bucket = cobudget.bucket_propose(bucket=bucket, actor=coordinator)
        buckets.append(cobudget.bucket_approve(bucket=bucket, actor=coordinator))
    for person in people:
        cobudget.allocation_create(bucket=buckets[0], actor=person, amount=Decimal("10.00"))
    for i, person in enumerate(people):
        cobudget.bucket_comment(bucket=buckets[0], actor=person, body=_label("Comment", i))
    cobudget.bucket_flag(bucket=buckets[0], actor=coordinator, reason="Guideline 1")
    for i in range(1, n):
        cobudget.round_create(collective=collective, actor=coordinator, name=_label("Round", i),
                              envelope_policy="equal", envelope_amount=Decimal("100.00"))
    return round, buckets[0]


def _paperwork(collective: Collective, coordinator: User, accountant: User, n: int) -> None:
    """Notifications and an API token for the coordinator, exports and issued documents for the accountant, an
    import of `n` lines of incoming money."""
    members.token_create(user=coordinator, name="walk")
    Notification.objects.bulk_create(
        Notification(collective=collective, recipient=coordinator, kind="contribution.commented",
                     params={"name": "Person", "declaration": _label("Work", i), "comment": "Why?"},
                     url=f"/c/{collective.slug}/") for i in range(n)
    )
    expires = timezone.now() + timedelta(days=1)
    Export.objects.bulk_create(
        Export(collective=collective, requested_by=accountant, kind="journal", format="csv", expires_at=expires)
        for _ in range(n)
    )
    IssuedDocument.objects.bulk_create(
        IssuedDocument(collective=collective, kind="period_statement", subject=f"period:{i:04d}", data={},
                       locale="fr", issued_by=accountant) for i in range(n)
    )
    donations = "".join(f"{i},2025-03-01,Donor {i:04d},{i + 1}.00,EUR\n" for i in range(n))
    funding_import_preview(collective=collective, actor=coordinator, fmt="liberapay",
                           text="id,date,donor,amount,currency\n" + donations)


def bounded_collective(tag: str, n: int) -> Bounded:
    """A collective named `bounded-<tag>` with `n` (at least 3) rows of everything."""
    collective, coordinator, accountant = _collective(tag)
    people = _people(collective, tag, n)
    budget = _budgets(collective, coordinator, n)
    closed = _closed_period(collective, coordinator, accountant, budget, people)
    open_period = Period.objects.get(budget=budget, index=1)
    pending = _declare(collective, budget, open_period, people)
    _comments(pending[0], people)
    _comments(Contribution.objects.filter(period=closed).order_by("pk").first(), people)
    _batches(collective, accountant, people, closed)
    round, bucket = _round(collective, coordinator, people, n)
    _paperwork(collective, coordinator, accountant, n)
    return Bounded(collective=collective, coordinator=coordinator, accountant=accountant, people=people,
                   budget=budget, closed_period=closed, open_period=open_period, round=round, bucket=bucket,
                   contribution=pending[0])
