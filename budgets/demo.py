"""Demo data of budgets: La Fabrique's weekly budget, its money, rate grid, envelopes and tasks,
a dozen declarations in various states (one granted payout paid) and one closed period in deficit resolved
pro rata; KPA-Cité's monthly budget whose last month is closed, partly owed."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from contributions import services as declarations
from members.demo import DemoData
from members.models import Membership
from members.services import membership_set_roles

from .closing import period_close
from .fundings import funding_create
from .models import Payout, Period
from .payouts import payouts_mark_paid
from .services import budget_create, envelope_create, task_create


def _membership(collective, user) -> Membership:
    return Membership.objects.get(collective=collective, user=user)


def seed(data: DemoData) -> None:
    fabrique = data.collectives["fabrique"]
    alice = data.people["alice"]
    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    budget = budget_create(
        collective=fabrique, actor=alice, name="Animation du tiers-lieu",
        description="Accueil, ateliers et entretien, rétribués chaque semaine.",
        period_kind="week", starts_on=monday - timedelta(weeks=3), amount_per_period=Decimal("600.00"),
        overspend_policy="hold", leftover_policy="carry_over", auto_close_after_days=3,
        rate_levels=[{"name": "Simple", "hourly_rate": Decimal("15.00")},
                     {"name": "Avec responsabilité", "hourly_rate": Decimal("22.00")},
                     {"name": "Forte contrainte", "hourly_rate": Decimal("28.00")}],
    )
    funding_create(budget=budget, actor=alice, source="Région — subvention tiers-lieux", source_kind="grant",
                   amount=Decimal("3000.00"), status="received", received_on=budget.starts_on)
    funding_create(budget=budget, actor=alice, source="Mairie — contrat d'animation", source_kind="client_contract",
                   amount=Decimal("2400.00"), status="pledged")
    accueil = envelope_create(budget=budget, actor=alice, name="Accueil", amount=Decimal("1500.00"),
                              description="Ouvrir, accueillir, tenir le lieu.")
    atelier = envelope_create(budget=budget, actor=alice, name="Atelier bois", amount=Decimal("900.00"))
    task_create(budget=budget, actor=alice, envelope=accueil, title="Permanence du samedi", priority=1)
    task_create(budget=budget, actor=alice, envelope=accueil, title="Refaire l'affichage", priority=3)
    task_create(budget=budget, actor=alice, envelope=atelier, title="Affûter les outils", priority=2)
    levels = list(budget.rate_levels.all())
    coordinator = _membership(fabrique, alice)

    def declare(person, week, description, *, minutes=0, level=None, amount=None, mode="time_rate", envelope=None):
        declaration = declarations.Declaration(
            budget=budget, performed_on=budget.starts_on + timedelta(weeks=week, days=1), description=description,
            minutes=minutes, value_mode=mode, rate_level=level, amount=amount, envelope=envelope)
        return declarations.contribution_declare(collective=fabrique, membership=_membership(fabrique, person),
                                                 declaration=declaration)

    people = data.people
    first_week = [
        declare(people["bob"], 0, "Permanences lundi et mercredi", minutes=600, level=levels[1], envelope=accueil),
        declare(people["david"], 0, "Chantier étagères", minutes=540, level=levels[2], envelope=atelier),
        declare(people["emma"], 0, "Graphisme de l'affiche", mode="fixed_price", amount=Decimal("150.00")),
    ]
    for contribution in first_week:
        declarations.contribution_validate(contribution=contribution, membership=coordinator)
    period = period_close(period=Period.objects.get(budget=budget, index=0), actor=alice)
    period_close(period=period, actor=alice, decision={"kind": "pro_rata"})

    validated = declare(people["bob"], 1, "Accueil du public samedi", minutes=240, level=levels[0], envelope=accueil)
    declarations.contribution_validate(contribution=validated, membership=coordinator)
    adjusted = declare(people["farid"], 1, "Inventaire de l'outillage", mode="self_assessed", amount=Decimal("200.00"),
                       envelope=atelier)
    declarations.contribution_adjust(contribution=adjusted, membership=coordinator, amount=Decimal("120.00"),
                                     reason="Quatre heures au tarif simple, comme convenu en réunion.")
    rejected = declare(people["david"], 1, "Rangement personnel", mode="self_assessed", amount=Decimal("80.00"))
    declarations.contribution_reject(contribution=rejected, membership=coordinator,
                                     reason="Hors du périmètre du budget.")
    questioned = declare(people["emma"], 1, "Réunion partenaires", minutes=180, level=levels[1])
    declarations.contribution_question(contribution=questioned, actor=people["gaelle"],
                                       comment="Qui d'autre était présent ?")
    declare(people["farid"], 2, "Atelier réparation vélos", minutes=300, level=levels[0], envelope=atelier)
    declare(people["bob"], 2, "Permanence du samedi", minutes=420, level=levels[1], envelope=accueil)
    declare(people["emma"], 2, "Pro bono : photos de l'atelier", mode="self_assessed", amount=Decimal("0.00"))
    declare(people["david"], 3, "Nettoyage de printemps", minutes=120, level=levels[0], envelope=accueil)
    declare(people["farid"], 3, "Réparation de la porte de l'atelier", mode="fixed_price", amount=Decimal("90.00"),
            envelope=atelier)
    payouts_mark_paid(collective=fabrique, payout_ids=[Payout.objects.get(contribution=first_week[0]).pk], actor=data.people["carol"],
                      paid_on=today, reference="VIR-2026-001")
    _seed_kpa(data)


def _seed_kpa(data: DemoData) -> None:
    """KPA-Cité's monthly kitchen budget, funded mostly by a pledge: last month's grants are partly owed,
    so the people in both collectives see declared, granted, owed, payable and paid money across them."""
    kpa = data.collectives["kpa"]
    alice, bob = data.people["alice"], data.people["bob"]
    membership_set_roles(membership=_membership(kpa, bob), actor=alice, roles=["contributor", "member"])
    first_of_month = timezone.localdate().replace(day=1)
    last_month = (first_of_month - timedelta(days=1)).replace(day=1)
    budget = budget_create(
        collective=kpa, actor=alice, name="Cuisine solidaire", description="Repas du vendredi et jardin partagé.",
        period_kind="month", starts_on=last_month, amount_per_period=Decimal("400.00"),
        overspend_policy="pro_rata", leftover_policy="return_to_pool",
        rate_levels=[{"name": "Bénévole indemnisé", "hourly_rate": Decimal("12.00")}],
    )
    funding_create(budget=budget, actor=alice, source="Fondation de quartier", source_kind="donation",
                   amount=Decimal("150.00"), status="received", received_on=last_month)
    funding_create(budget=budget, actor=alice, source="Bailleur social — convention jardin",
                   source_kind="client_contract", amount=Decimal("500.00"), status="pledged")
    level = budget.rate_levels.get()
    coordinator = _membership(kpa, alice)
    for person, description, mode, minutes, amount in (
        ("emma", "Affiches du repas de quartier", "self_assessed", 0, Decimal("90.00")),
        ("nadia", "Désherbage du jardin", "time_rate", 120, None),
        ("bob", "Repas du vendredi (prestation)", "fixed_price", 0, Decimal("250.00")),
    ):
        declaration = declarations.Declaration(
            budget=budget, performed_on=last_month + timedelta(days=4), description=description, minutes=minutes,
            value_mode=mode, rate_level=level if mode == "time_rate" else None, amount=amount)
        contribution = declarations.contribution_declare(
            collective=kpa, membership=_membership(kpa, data.people[person]), declaration=declaration)
        declarations.contribution_validate(contribution=contribution, membership=coordinator)
    period_close(period=Period.objects.get(budget=budget, index=0), actor=alice)
