"""PostgreSQL gone for a moment (a restart, a failover): the request fails cleanly, the next one reconnects.

A request that meets a lost database connection answers 503, in the API's error shape under /api/ and as a short
page elsewhere, with Retry-After, wherever it met it: in a view, in a middleware (the session's, the
authentication's, the tenant's…), in a context processor while a page renders, or saving the session on the way
out. Its transaction was rolled back, so no money moved halfway; the broken connection is closed at the end of the
request, so the next one opens a fresh connection without restarting anything (a persistent connection,
CONN_MAX_AGE > 0, is also checked before a request uses it: CONN_HEALTH_CHECKS).

Django turns whatever a request raises into the answer of the project's error handlers, from inside its except
block: `server_error` (handler500) and `bad_request` (handler400, since Django reports a session it could not save
as SessionInterrupted) are the one way to this 503. With DEBUG on, Django shows its technical error page instead.
"""

import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views import defaults

from . import parsers

RETRY_AFTER_SECONDS = 5
DATABASE_LOST = (OperationalError, InterfaceError)


def database_lost(exception: BaseException | None) -> bool:
    """Whether `exception` is a lost database connection, or was raised while handling one (Django's session
    middleware turns the database's error into SessionInterrupted, for example)."""
    seen: set[int] = set()
    while exception is not None and id(exception) not in seen:
        if isinstance(exception, DATABASE_LOST):
            return True
        seen.add(id(exception))
        exception = exception.__cause__ or exception.__context__
    return False


def unavailable(request) -> HttpResponse:
    message = _("The service is briefly unavailable: nothing was saved. Try again in a few seconds.")
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message, "code": "service_unavailable", "fields": {}}, status=503)
    else:
        # Rendered without the request: its context processors would ask the database again.
        response = HttpResponse(render_to_string("503.html", {"message": message,
                                                              "PRODUCT_NAME": settings.PRODUCT_NAME}), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def server_error(request, template_name=defaults.ERROR_500_TEMPLATE_NAME):
    """The project's handler500: Django calls it while it handles the exception, which sys.exc_info() holds.
    Under /api/ a client reads the API's error shape, whatever went wrong."""
    if database_lost(sys.exc_info()[1]):
        return unavailable(request)
    if request.path.startswith("/api/"):
        message = _("Something went wrong on our side. Check whether your change was saved before trying again.")
        return JsonResponse({"detail": message, "code": "server_error", "fields": {}}, status=500)
    return defaults.server_error(request, template_name)


def bad_request(request, exception, template_name=defaults.ERROR_400_TEMPLATE_NAME):
    """The project's handler400."""
    if database_lost(exception):
        return unavailable(request)
    # A body too large, or with too many fields or files: 413 (contrib_budget/parsers.py).
    return parsers.bad_request(request, exception, template_name)
