"""Repeats are harmless: a request sent twice does the work once.

- API: a POST or PATCH with an `Idempotency-Key` header (up to 255 characters,
  scoped to the authenticated person, kept 24 hours). A repeat with the same
  body gets the first answer again, with `Idempotent-Replayed: true`, and
  writes nothing; the same key with another body gets 422
  `idempotency_key_reused`; a repeat while the first still runs gets 409
  `idempotency_key_in_use`.
- Pages: every POST form of a page gets a one-time token when it is rendered;
  a second submit of the same rendered form shows the first result.

The first request claims its key by inserting a row (unique per person and
key), so concurrent repeats cannot both run. An answer of 5xx, or an exception,
releases the key: the request was not done, and may be sent again.
"""

import hashlib
import re
import secrets
from datetime import timedelta

from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.settings import api_settings

from .models import IdempotencyRecord

KEY_HEADER = "HTTP_IDEMPOTENCY_KEY"
REPLAYED_HEADER = "Idempotent-Replayed"
FORM_TOKEN_FIELD = "_form_token"
MAX_KEY_LENGTH = 255
KEEP = timedelta(hours=24)
# A claim still running after this long belongs to a request that died with its process.
STALE = timedelta(minutes=10)
# Larger answers are not kept (a repeat then does the work again, as without a key).
MAX_STORED_BYTES = 1_000_000
UNSAFE_METHODS = ("POST", "PATCH")
POST_FORM = re.compile(rb"<form\b[^>]*\bmethod\s*=\s*[\"']?post\b[^>]*>", re.IGNORECASE)


def _error(status: int, message: str, code: str) -> JsonResponse:
    return JsonResponse({"detail": message, "code": code, "fields": {"Idempotency-Key": [message]}}, status=status)


def _api_person(request):
    """The person an API request authenticates as, by the API's own authentication, or None (the view refuses it)."""
    if request.user.is_authenticated:
        return request.user
    try:
        user = Request(request, authenticators=[auth() for auth in api_settings.DEFAULT_AUTHENTICATION_CLASSES]).user
    except APIException:
        return None
    return user if user.is_authenticated else None


def _is_multipart(request) -> bool:
    return request.content_type.startswith("multipart/")


def _fingerprint(request) -> str:
    """What makes two requests the same: method, path, query and body (a form or multipart body by its fields and
    files, since a multipart boundary changes with every send and the form token with every rendering)."""
    digest = hashlib.sha256(f"{request.method} {request.get_full_path()}\n".encode())
    if request.path.startswith("/api/") and not _is_multipart(request):
        digest.update(request.body)
        return digest.hexdigest()
    for name, values in sorted(request.POST.lists()):
        if name not in (FORM_TOKEN_FIELD, "csrfmiddlewaretoken"):
            digest.update(repr((name, values)).encode())
    for name, files in sorted(request.FILES.lists()):
        digest.update(repr((name, [(f.name, f.size) for f in files])).encode())
    return digest.hexdigest()


def _claim(user, key: str, fingerprint: str):
    """The new claim on `key`, or the answer to give instead when it is already taken."""
    now = timezone.now()
    mine = IdempotencyRecord.objects.filter(user=user, key=key)
    mine.filter(created_at__lt=now - KEEP).delete()
    mine.filter(state=IdempotencyRecord.State.RUNNING, created_at__lt=now - STALE).delete()
    record, created = IdempotencyRecord.objects.get_or_create(
        user=user, key=key, defaults={"fingerprint": fingerprint, "created_at": now})
    if created:
        return record
    if record.fingerprint != fingerprint:
        return _error(422, _("This idempotency key was already used for another request."), "idempotency_key_reused")
    if record.state == IdempotencyRecord.State.RUNNING:
        return _error(409, _("A request with this idempotency key is still running: wait for its answer."),
                      "idempotency_key_in_use")
    return _replay(record)


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(bytes(record.body), status=record.status_code, content_type=record.content_type or None)
    if record.location:
        response["Location"] = record.location
    response[REPLAYED_HEADER] = "true"
    return response


def _finish(record: IdempotencyRecord, response) -> None:
    """Keep the answer for repeats; a server error or an answer too large to keep releases the key."""
    if response.status_code >= 500 or response.streaming or len(response.content) > MAX_STORED_BYTES:
        record.delete()
        return
    record.state = IdempotencyRecord.State.DONE
    record.status_code = response.status_code
    record.content_type = response.get("Content-Type", "")[:200]
    record.location = response.get("Location", "")[:2000]
    record.body = response.content
    record.save(update_fields=["state", "status_code", "content_type", "location", "body"])


def _with_form_tokens(request, response):
    """Give each POST form of an HTML page its own one-time token."""
    if (not request.user.is_authenticated or response.streaming
            or not response.get("Content-Type", "").startswith("text/html")):
        return response

    def token(match) -> bytes:
        value = secrets.token_urlsafe(18)
        return match.group(0) + f'<input type="hidden" name="{FORM_TOKEN_FIELD}" value="{value}">'.encode()

    response.content = POST_FORM.sub(token, response.content)
    if response.has_header("Content-Length"):
        response["Content-Length"] = str(len(response.content))
    return response


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        claim = self._claim_for(request) if request.method in UNSAFE_METHODS else None
        if isinstance(claim, HttpResponse):
            return _with_form_tokens(request, claim)
        try:
            response = self.get_response(request)
        except BaseException:
            if claim is not None:
                claim.delete()
            raise
        if claim is not None:
            _finish(claim, response)
        return _with_form_tokens(request, response)

    @staticmethod
    def _claim_for(request):
        if request.path.startswith("/api/"):
            key = request.META.get(KEY_HEADER)
            if key is None:
                return None
            if not key.strip() or len(key) > MAX_KEY_LENGTH:
                return _error(400, _("An idempotency key is 1 to %(max)s characters long.") % {"max": MAX_KEY_LENGTH},
                              "invalid")
            user, scoped = _api_person(request), f"api:{key}"
        else:
            token = request.POST.get(FORM_TOKEN_FIELD)
            if not token or len(token) > MAX_KEY_LENGTH:
                return None
            user, scoped = request.user if request.user.is_authenticated else None, f"form:{token}"
        if user is None:
            return None
        return _claim(user, scoped, _fingerprint(request))


def idempotency_records_purge() -> int:
    """Forget the answers kept for more than 24 hours."""
    return IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - KEEP).delete()[0]
