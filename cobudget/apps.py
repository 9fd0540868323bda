from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CobudgetConfig(AppConfig):
    name = "cobudget"
    verbose_name = _("Cobudget")
