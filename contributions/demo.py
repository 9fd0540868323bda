"""Demo data of contributions: a dozen declarations in La Fabrique's weekly budget in various states (one
granted payout paid) and one closed period in deficit resolved pro rata; in KPA-Cité's monthly budget, last
month closed with its grants partly owed, so the people in both collectives see declared, granted, owed,
payable and paid money across them."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from budgets.models import Budget, Payout, Period
from budgets.payouts import payouts_mark_paid
from members.demo import DemoData, membership

from . import services as declarations
from .closing import period_close


def seed(data: DemoData) -> None:
    fabrique = data.collectives["fabrique"]
    alice = data.people["alice"]
    today = timezone.localdate()
    budget = Budget.objects.get(collective=fabrique, name="Animation du tiers-lieu")
    accueil, atelier = (budget.envelopes.get(name=name) for name in ("Accueil", "Atelier bois"))
    levels = list(budget.rate_levels.all())
    coordinator = membership(fabrique, alice)

    def declare(person, week, description, *, minutes=0, level=None, amount=None, mode="time_rate", envelope=None):
        declaration = declarations.Declaration(
            budget=budget, performed_on=budget.starts_on + timedelta(weeks=week, days=1), description=description,
            minutes=minutes, value_mode=mode, rate_level=level, amount=amount, envelope=envelope)
        return declarations.contribution_declare(collective=fabrique, membership=membership(fabrique, person),
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
    paid = Payout.objects.get(contribution=first_week[0])
    payouts_mark_paid(collective=fabrique, payout_ids=[paid.pk], actor=data.people["carol"], paid_on=today,
                      reference="VIR-2026-001")
    _seed_kpa(data)


def _seed_kpa(data: DemoData) -> None:
    kpa = data.collectives["kpa"]
    alice = data.people["alice"]
    budget = Budget.objects.get(collective=kpa, name="Cuisine solidaire")
    last_month = budget.starts_on
    level = budget.rate_levels.get()
    coordinator = membership(kpa, alice)
    for person, description, mode, minutes, amount in (
        ("emma", "Affiches du repas de quartier", "self_assessed", 0, Decimal("90.00")),
        ("nadia", "Désherbage du jardin", "time_rate", 120, None),
        ("bob", "Repas du vendredi (prestation)", "fixed_price", 0, Decimal("250.00")),
    ):
        declaration = declarations.Declaration(
            budget=budget, performed_on=last_month + timedelta(days=4), description=description, minutes=minutes,
            value_mode=mode, rate_level=level if mode == "time_rate" else None, amount=amount)
        contribution = declarations.contribution_declare(
            collective=kpa, membership=membership(kpa, data.people[person]), declaration=declaration)
        declarations.contribution_validate(contribution=contribution, membership=coordinator)
    period_close(period=Period.objects.get(budget=budget, index=0), actor=alice)
