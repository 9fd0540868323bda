from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContributionsConfig(AppConfig):
    name = "contributions"
    verbose_name = _("Contributions")

    def ready(self) -> None:
        # Registers the "what waits for me" and footprint providers, the notification kinds, the reminders, the
        # dashboard panel, the audit labels of declarations and what they ask of each period's money.
        from . import audit, dashboard, demand, notifications, reminders, selectors  # noqa: F401
