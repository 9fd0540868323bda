from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContributionsConfig(AppConfig):
    name = "contributions"
    verbose_name = _("Contributions")

    def ready(self) -> None:
        # Registers the "what waits for me" and footprint providers, the notification kinds, the reminders, the
        # dashboard panel and the audit labels of declarations.
        from . import audit, dashboard, notifications, reminders, selectors  # noqa: F401
