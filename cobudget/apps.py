from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CobudgetConfig(AppConfig):
    name = "cobudget"
    verbose_name = _("Cobudget")

    def ready(self) -> None:
        # Registers the "what waits for me" providers, notification kinds, reminders and audit redaction of rounds.
        from . import audit, notifications, reminders, selectors  # noqa: F401
