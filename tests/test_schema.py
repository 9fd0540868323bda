"""The OpenAPI schema documents every answer an endpoint gives, errors included, in the one error shape."""

import pytest
from rest_framework.test import APIClient

from tests.conftest import PASSWORD
from tests.members.test_api import fresh_address

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


def test_an_unconfirmed_address_on_the_token_endpoint_answers_403_as_documented(member, schema):
    documented = schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]["403"]
    assert "email_not_verified" in documented["description"]
    assert documented["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    response = APIClient(REMOTE_ADDR=fresh_address()).post(
        "/api/v1/auth/token/", {"email": member.email, "password": PASSWORD}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "email_not_verified"


def test_reads_that_take_query_parameters_document_400(schema):
    for path, operations in schema["paths"].items():
        get = operations.get("get")
        if get and any(parameter["in"] == "query" for parameter in get.get("parameters", [])):
            assert "400" in get["responses"], path


def test_refusals_are_documented_as_json_only_and_files_with_their_media_types(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                if int(code) >= 400:
                    assert list(response["content"]) == ["application/json"], (method, path, code)
    download = schema["paths"]["/api/v1/collectives/{collective_slug}/exports/{id}/download/"]["get"]["responses"]
    assert set(download["200"]["content"]) == {
        "text/csv", "text/plain", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    assert "409" in download


@pytest.mark.parametrize("path", ["/api/v1/collectives/la-fabrique/periods/abc/", "/api/v1/collectives/%C2%B7/",
                                  "/api/v1/nothing-here/"])
def test_a_path_that_names_nothing_under_the_api_answers_404_in_the_error_shape(client, path):
    response = client.get(path)
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found" and response.json()["fields"] == {}


def test_a_page_that_does_not_exist_is_still_a_page(client, db):
    response = client.get("/c/nowhere/nothing-here/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
