"""The OpenAPI schema documents every error an endpoint can answer, in the API's one error shape."""

from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """Every refusal: a sentence for people, a code for programs, and the faulty fields (empty when none)."""

    detail = serializers.CharField()
    code = serializers.CharField()
    fields = serializers.DictField()


# What any request may get, and what a write may get besides.
EVERY_REQUEST = {
    "401": "Not authenticated, or the token is invalid or expired.",
    "403": "Authenticated, but the role this needs is missing.",
    "404": "Not found, or in a collective the person is not a member of.",
    "429": "Too many requests: try again later.",
    "503": "The database is briefly unavailable: nothing was saved; try again (see Retry-After).",
}
WRITES = {
    "400": "The input is refused; `fields` names what to correct. Nothing was saved.",
    "409": "The state of the object does not allow this now (for example already closed), or a request with this "
           "Idempotency-Key is still running (`idempotency_key_in_use`).",
    "413": "The body is larger than the server accepts.",
    "415": "The body's media type (Content-Type) is not one this endpoint reads.",
    "422": "This Idempotency-Key was used for another request (`idempotency_key_reused`).",
}
# What a read that takes query parameters (filters, dates, a year) may get besides.
QUERY = {
    "400": "A query parameter is refused; `fields` names it.",
}


class ErrorDocumentingAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        errors = {**EVERY_REQUEST, **(WRITES if self.method in ("POST", "PUT", "PATCH", "DELETE") else {})}
        for code, description in errors.items():
            if code not in responses:
                responses[code] = {**self._get_response_for_code(ErrorSerializer, code, direction=direction),
                                   "description": description}
        return responses

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return operation
        responses = operation["responses"]
        queried = any(parameter.get("in") == "query" for parameter in operation.get("parameters", []))
        if self.method == "GET" and queried:
            for code, description in QUERY.items():
                if code not in responses:
                    responses[code] = {**self._get_response_for_code(ErrorSerializer, code),
                                       "description": description}
        # A refusal is JSON whatever the endpoint's other media types (a PDF, a file): see the exception handler.
        for code, response in responses.items():
            content = response.get("content", {})
            if code.isdigit() and int(code) >= 400 and "application/json" in content:
                response["content"] = {"application/json": content["application/json"]}
        return operation
