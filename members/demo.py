"""Demo data for the quick start. Each app may add a `<app>/demo.py` with
`seed(data: DemoData) -> None`; `seed_demo` calls them in order after this one.
"""

from dataclasses import dataclass, field

from .models import Collective, User


@dataclass
class DemoData:
    # "fabrique": the third place (main demo collective); "kpa": the second one.
    collectives: dict[str, Collective] = field(default_factory=dict)
    # Keyed by lowercase first name: alice (coordinator), bob, david, emma, farid
    # (contributors), carol (accountant), gaelle, hugo, ines, jules, karim, lea (members).
    people: dict[str, User] = field(default_factory=dict)
