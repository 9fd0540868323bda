"""The OpenAPI schema documents every answer an endpoint gives, errors included, in the one error shape."""

import pytest

SCHEMA = "/api/v1/schema/"


@pytest.fixture
def schema(client):
    return client.get(SCHEMA, HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


def test_every_operation_documents_its_errors_in_the_error_shape(schema):
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"detail", "code", "fields"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"401", "403", "404"} <= codes, (method, path)
            if method in ("post", "patch", "put", "delete"):
                assert {"400", "409", "413", "422"} <= codes, (method, path)


def test_fields_that_can_be_empty_say_so(schema):
    components = schema["components"]["schemas"]
    assert components["Contribution"]["properties"]["validated_amount"]["nullable"] is True
    options = components["Bucket"]["properties"]["status_at_close"]["oneOf"]
    names = [option["$ref"].rsplit("/", 1)[1] for option in options]
    assert any(components[name]["enum"] == [""] for name in names)


def test_wrong_credentials_on_the_token_endpoint_answer_401_as_documented(client, member, schema):
    documented = schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]
    response = client.post("/api/v1/auth/token/", {"email": member.email, "password": "wrong"},
                           content_type="application/json")
    assert response.status_code == 401 and str(response.status_code) in documented
    assert response.json()["code"] == "authentication_failed"
