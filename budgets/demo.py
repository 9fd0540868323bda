"""Demo data of budgets: La Fabrique's weekly budget, its money, rate grid, envelopes and tasks; KPA-Cité's
monthly budget, funded mostly by a pledge (contributions.demo declares work in both and closes periods)."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from members.demo import DemoData, membership
from members.services import membership_set_roles

from .fundings import funding_create
from .services import budget_create, envelope_create, task_create


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
    _seed_kpa(data)


def _seed_kpa(data: DemoData) -> None:
    """KPA-Cité's monthly kitchen budget, funded mostly by a pledge, from last month on."""
    kpa = data.collectives["kpa"]
    alice, bob = data.people["alice"], data.people["bob"]
    membership_set_roles(membership=membership(kpa, bob), actor=alice, roles=["contributor", "member"])
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
