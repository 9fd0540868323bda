"""Exporters: one small class per kind; `REGISTRY` maps each kind to its class."""

from . import ledger, people, rounds  # noqa: F401  (each module registers its exporters)
from .base import REGISTRY, Exporter

__all__ = ["REGISTRY", "Exporter"]
