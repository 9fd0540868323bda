"""Demo cobudget rounds in La Fabrique: one open with eight buckets, one closed with its results, saved as a
quarterly template."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from members.demo import DemoData

from . import services


def _bucket(round, by, title, description, lines, *, carriers=(), propose=True):
    bucket = services.bucket_create(
        round=round, actor=by, title=title, description=description, carriers=carriers,
        lines=[{"description": d, "min_amount": mn, "max_amount": mx} for d, mn, mx in lines],
    )
    return services.bucket_propose(bucket=bucket, actor=by) if propose else bucket


def _give(bucket, gifts):
    for person, amount in gifts:
        services.allocation_create(bucket=bucket, actor=person, amount=Decimal(amount))


def seed(data: DemoData) -> None:
    fabrique = data.collectives["fabrique"]
    p = data.people
    _closed_round(fabrique, p)
    _open_round(fabrique, p)


def _closed_round(fabrique, p) -> None:
    round = services.round_create(
        collective=fabrique, actor=p["alice"], name="Cobudget d'automne 2025",
        description="80 € par membre pour les projets du lieu.",
        guidelines="Des projets ouverts à tout le quartier, réalisés avant l'été.",
        envelope_policy="equal", envelope_amount=Decimal("80.00"), partial_policy="accept",
        partial_threshold_percent=90, leftover_policy="return_to_pool",
    )
    services.round_open(round=round, actor=p["alice"])
    oven = _bucket(round, p["bob"], "Four à pain collectif", "Un four à bois dans la cour, pour le pain du vendredi.",
                   [("Briques réfractaires", "180.00", "220.00"), ("Main d'œuvre maçon", "120.00", "180.00")],
                   carriers=[p["david"]])
    tools = _bucket(round, p["emma"], "Bibliothèque d'outils", "Des outils à emprunter, avec un carnet de prêt.",
                    [("Outillage", "200.00", None)])
    mural = _bucket(round, p["gaelle"], "Fresque de la façade", "Une fresque peinte avec les enfants du quartier.",
                    [("Peinture et échafaudage", "500.00", None)])
    welding = _bucket(round, p["farid"], "Cours de soudure", "Initiation à la soudure à l'arc.",
                      [("Consommables", "90.00", None)])
    _give(oven, [(p["alice"], "60.00"), (p["bob"], "80.00"), (p["david"], "70.00"), (p["hugo"], "50.00"),
                 (p["ines"], "40.00"), (p["karim"], "30.00")])
    _give(tools, [(p["emma"], "80.00"), (p["jules"], "60.00"), (p["lea"], "45.00")])
    _give(mural, [(p["gaelle"], "80.00"), (p["farid"], "40.00")])
    services.bucket_cancel(bucket=welding, actor=p["farid"])
    services.round_close(round=round, actor=p["alice"])
    # Its rules make the next rounds, every quarter; the mural, unfunded, is carried over to the next one.
    services.round_template_save(round=round, actor=p["alice"], name="Cobudget de saison", schedule="quarterly",
                                 funding_days=21)
    services.bucket_carry_over(bucket=mural, actor=p["gaelle"], keep=True)


def _open_round(fabrique, p) -> None:
    round = services.round_create(
        collective=fabrique, actor=p["alice"], name="Cobudget de printemps 2026",
        description="100 € par membre. Les allocations se voient en direct.",
        guidelines="1. Utile au lieu ou au quartier. 2. Fournisseurs locaux quand c'est possible.",
        envelope_policy="equal", envelope_amount=Decimal("100.00"), bucket_approval_required=True,
        max_per_member_per_bucket=Decimal("60.00"), partial_policy="accept", partial_threshold_percent=80,
        funding_closes_at=timezone.now() + timedelta(days=30),
    )
    services.round_open(round=round, actor=p["alice"])

    def approved(*args, **kwargs):
        return services.bucket_approve(bucket=_bucket(round, *args, **kwargs), actor=p["alice"])

    garden = approved(p["gaelle"], "Jardin partagé sur le toit", "Bacs, terre et récupérateur d'eau de pluie.",
                      [("Bacs et terre", "250.00", "300.00"), ("Récupérateur d'eau", "80.00", "120.00")],
                      carriers=[p["hugo"]])
    bikes = approved(p["bob"], "Atelier réparation vélos", "Un établi et des outils pour réparer son vélo.",
                     [("Établi et outils", "150.00", "180.00")], carriers=[p["karim"]])
    canteen = approved(p["emma"], "Cantine à prix libre", "Un repas par semaine, à prix libre.",
                       [("Ingrédients pour trois mois", "400.00", "600.00")])
    repair = approved(p["farid"], "Repair café mensuel", "Réparer ensemble plutôt que jeter.",
                      [("Matériel de réparation", "120.00", "150.00")], carriers=[p["jules"]])
    appliances = approved(p["jules"], "Réparation petit électroménager", "Fers, grille-pain, bouilloires.",
                          [("Fer à souder et pièces", "60.00", None)], carriers=[p["farid"]])
    festival = _bucket(round, p["ines"], "Festival de quartier", "Une journée de concerts et d'ateliers en juin.",
                       [("Son et scène", "300.00", "450.00"), ("Affiches", "50.00", None)])
    solar = _bucket(round, p["david"], "Panneaux solaires sur l'atelier", "Produire une partie de notre électricité.",
                    [("Panneaux", "900.00", "1200.00")])
    _bucket(round, p["lea"], "Cours de français", "Des cours du soir pour les voisins qui apprennent le français.",
            [("Manuels", "70.00", None)], propose=False)

    _give(garden, [(p["gaelle"], "60.00"), (p["hugo"], "40.00"), (p["alice"], "30.00"), (p["lea"], "25.00")])
    _give(bikes, [(p["bob"], "60.00"), (p["karim"], "50.00"), (p["david"], "40.00"), (p["jules"], "30.00")])
    _give(canteen, [(p["emma"], "40.00"), (p["ines"], "35.00")])
    _give(appliances, [(p["farid"], "20.00")])
    services.bucket_merge(bucket=appliances, into=repair, actor=p["jules"])
    _give(repair, [(p["farid"], "30.00"), (p["alice"], "20.00")])
    services.bucket_comment(bucket=festival, actor=p["karim"], kind="question",
                            body="Qui s'occupe de l'autorisation de la mairie ?")
    services.bucket_comment(bucket=festival, actor=p["ines"], body="Je m'en charge, la demande part lundi.")
    services.bucket_flag(bucket=solar, actor=p["hugo"],
                         reason="Ligne directrice 2 : le devis vient d'un installateur lointain.")
