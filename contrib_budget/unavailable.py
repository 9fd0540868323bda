"""PostgreSQL gone for a moment (a restart, a failover): the request fails cleanly, the next one reconnects.

A request that meets a lost database connection answers 503, in the API's
error shape under /api/ and as a short page elsewhere, with Retry-After. Its
transaction was rolled back, so no money moved halfway; the broken
connection is closed at the end of the request, so the next one opens a
fresh connection without restarting anything.
"""

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        # Django closes the broken connection when the request finishes (close_old_connections), so the next
        # request opens a fresh one.
        logger.exception("the database is unavailable: %s %s answered 503", request.method, request.path)
        return self._unavailable(request)

    @staticmethod
    def _unavailable(request):
        message = _("The service is briefly unavailable: nothing was saved. Try again in a few seconds.")
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": message, "code": "service_unavailable", "fields": {}}, status=503)
        else:
            # Rendered without the request: its context processors would ask the database again.
            response = HttpResponse(render_to_string("503.html", {"message": message}), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
