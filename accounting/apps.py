import logging

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountingConfig(AppConfig):
    name = "accounting"
    label = "accounting"
    verbose_name = _("Accounting")

    def ready(self) -> None:
        # WeasyPrint reports every rendering step at INFO; keep the logs for what goes wrong.
        logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
        # Registers the notification kinds and the reminder of the accounting area, and the Celery tasks the
        # services queue by name (contrib_budget.queue).
        from . import notifications, tasks  # noqa: F401
