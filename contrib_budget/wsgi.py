import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contrib_budget.settings")
application = get_wsgi_application()

# Import every view, serializer and form now, before the first request, then set what the start made aside from
# the garbage collector: its full passes would otherwise walk those ~200,000 long-lived objects again and again,
# which cost a declaration POST a quarter of its CPU (README, "What a request costs").
get_resolver().url_patterns  # noqa: B018 - importing the URLconf imports every view
gc.collect()
gc.freeze()
