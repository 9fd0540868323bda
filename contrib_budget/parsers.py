"""Request bodies refused cleanly: JSON nested too deep, bodies over the size limits.

JSON nested about a thousand levels (2 KB, no login needed) makes the decoder raise RecursionError, a server
error; `JSONParser` answers 400 `parse_error` instead, and refuses any body nested deeper than MAX_JSON_DEPTH
(the API's own bodies nest three or four levels). Bodies over DATA_UPLOAD_MAX_MEMORY_SIZE (or, for uploads,
UPLOAD_MAX_BODY_SIZE) answer 413 in the API's error shape: `BodySizeLimitMiddleware` refuses them from their
Content-Length before anything reads them, and the API's exception handler turns Django's RequestDataTooBig
(a multipart body whose fields alone are too large) into `RequestTooLarge`.

When Django refuses a body before any view reads it (a middleware asked for its fields: the CSRF check, the
form tokens of contrib_budget.idempotency), the project's 400 handler hands the refusal to `bad_request`
(contrib_budget/unavailable.py answers a lost database first): under /api/ 413 in the API's error shape, and
elsewhere a short page in the site's layout (templates/413.html) saying that the form was too large and that
nothing was saved, for a body over DATA_UPLOAD_MAX_MEMORY_SIZE as for one with more fields or files than
DATA_UPLOAD_MAX_NUMBER_FIELDS / DATA_UPLOAD_MAX_NUMBER_FILES.
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import defaults
from rest_framework import exceptions, parsers, status

MAX_JSON_DEPTH = 32
API_PREFIX = "/api/"


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = gettext_lazy("The request body is too large.")
    default_code = "request_too_large"


def _too_deep(data, limit: int) -> bool:
    """Whether `data` nests lists and objects more than `limit` levels (walked without recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing bodies nested deeper than MAX_JSON_DEPTH with 400 `parse_error`."""

    max_depth = MAX_JSON_DEPTH

    def parse(self, stream, media_type=None, parser_context=None):
        too_deep = exceptions.ParseError(
            _("JSON parse error - nested more than %(depth)s levels.") % {"depth": self.max_depth})
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise too_deep from None
        if _too_deep(data, self.max_depth):
            raise too_deep
        return data


def body_limit(request) -> int | None:
    """The largest body an API request of this content type may send."""
    if request.content_type.startswith("multipart/"):
        return settings.UPLOAD_MAX_BODY_SIZE
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


class BodySizeLimitMiddleware:
    """API requests whose Content-Length exceeds the limit get 413 in the API's error shape at once,
    before any middleware or view reads the body."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(API_PREFIX):
            limit = body_limit(request)
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if limit is not None and length > limit:
                error = RequestTooLarge()
                return JsonResponse({"detail": str(error.detail), "code": error.default_code, "fields": {}},
                                    status=error.status_code)
        return self.get_response(request)


def bad_request(request, exception=None, template_name=defaults.ERROR_400_TEMPLATE_NAME):
    """The answer to a request Django refused before any view (handler400, through contrib_budget/unavailable.py).

    A body too large, or with too many fields or files: under /api/ as the API's exception handler answers it
    (413 `request_too_large`, 400 `parse_error` for too many fields or files), elsewhere 413 with a page in the
    site's layout. Any other refusal keeps Django's 400 page."""
    if not isinstance(exception, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        return defaults.bad_request(request, exception, template_name)
    if request.path.startswith(API_PREFIX):
        error = RequestTooLarge() if isinstance(exception, RequestDataTooBig) else exceptions.ParseError()
        return JsonResponse({"detail": str(error.detail), "code": error.default_code, "fields": {}},
                            status=error.status_code)
    page = render_to_string("413.html", request=request)
    return HttpResponse(page, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
