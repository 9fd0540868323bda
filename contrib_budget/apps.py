from django.apps import AppConfig


class ContribBudgetConfig(AppConfig):
    name = "contrib_budget"
    verbose_name = "contrib_budget"

    def ready(self):
        from django.conf import settings
        from django.db.models.signals import post_delete, post_save

        from . import checks, lookups  # noqa: F401  (they register the system checks and `__any`)
        from .tenancy import membership_deleted, membership_saved

        post_save.connect(membership_saved, sender=settings.TENANCY_MEMBERSHIP_MODEL)
        post_delete.connect(membership_deleted, sender=settings.TENANCY_MEMBERSHIP_MODEL)
