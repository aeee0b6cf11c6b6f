"""The OpenAPI 3 schema: generated without warnings, valid, and describing every endpoint."""

import pytest
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(tmp_path_factory, django_db_blocker):
    path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    with django_db_blocker.unblock():
        # --fail-on-warn: any warning or error of drf-spectacular fails; --validate checks the
        # result against the OpenAPI 3 JSON schema.
        call_command("spectacular", "--file", str(path), "--validate", "--fail-on-warn")
    return yaml.safe_load(path.read_text())


def test_schema_is_openapi_3_and_covers_every_resource(schema):
    assert schema["openapi"].startswith("3.")
    paths = set(schema["paths"])
    for expected in (
        "/api/v1/questions/",
        "/api/v1/questions/{question_id}/",
        "/api/v1/questions/{question_id}/answers/",
        "/api/v1/answers/{answer_id}/accept/",
        "/api/v1/questions/{question_id}/vote/",
        "/api/v1/tags/",
        "/api/v1/users/me/",
        "/api/v1/users/{username}/",
        "/api/v1/notifications/",
        "/api/v1/glossary/",
        "/api/v1/lesson/",
        "/api/v1/lesson/steps/{number}/answer/",
        "/api/v1/traces/",
        "/api/v1/traces/{trace_id}/diagnosis/",
        "/api/v1/diagnoses/",
        "/api/v1/webhooks/",
    ):
        assert expected in paths


def test_every_operation_has_a_summary_typed_responses_and_the_error_body(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert operation.get("summary"), where
            success = [code for code in operation["responses"] if code.startswith("2")]
            assert success, where
            for code in ("400", "401", "403", "404", "429"):
                ref = operation["responses"][code]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/Error"), where
            if method in ("post", "patch") and "requestBody" in operation:
                content = operation["requestBody"]["content"]
                assert "application/json" in content or "multipart/form-data" in content, where


def test_token_authentication_is_documented_as_bearer(schema):
    scheme = schema["components"]["securitySchemes"]["tokenAuth"]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer"}


def test_create_operations_carry_request_and_response_examples(schema):
    question_create = schema["paths"]["/api/v1/questions/"]["post"]
    assert question_create["requestBody"]["content"]["application/json"]["examples"]
    assert question_create["responses"]["400"]["content"]["application/json"]["examples"]
    upload = schema["paths"]["/api/v1/traces/"]["post"]
    assert upload["responses"]["201"]["content"]["application/json"]["examples"]


def test_the_schema_is_served_as_json_and_yaml():
    client = APIClient()
    as_json = client.get("/api/v1/schema/?format=json")
    assert as_json.status_code == 200 and as_json.json()["info"]["title"] == "GradHub API"
    as_yaml = client.get("/api/v1/schema/")
    assert yaml.safe_load(as_yaml.content)["openapi"].startswith("3.")


def test_docs_page_loads_swagger_from_our_own_static_files_and_no_inline_script():
    client = APIClient()
    page = client.get("/api/v1/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn." not in page
    assert "<script>" not in page  # every script has a src: allowed by script-src 'self'
    script = client.get("/api/v1/docs/?script=")
    assert script.headers["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content and b"/api/v1/schema/" in script.content


def test_links_that_are_null_on_private_traces_are_nullable_in_the_schema(schema):
    components = schema["components"]["schemas"]
    for name, field in (("Trace", "question_url"), ("Diagnosis", "answer_url")):
        prop = components[name]["properties"][field]
        assert prop["type"] == "string" and prop["format"] == "uri"
        assert prop.get("nullable") is True, name


def test_a_findings_fix_is_documented_as_the_object_it_is(schema):
    fix = schema["components"]["schemas"]["Finding"]["properties"]["fix"]
    fix = schema["components"]["schemas"][fix["$ref"].rsplit("/", 1)[1]] if "$ref" in fix else fix
    assert fix["type"] == "object"
    assert set(fix["properties"]) == {"text", "code"} and fix["required"] == ["text"]


def test_the_docs_page_links_back_to_the_sites_home_page():
    page = APIClient().get("/api/v1/docs/").content.decode()
    assert 'href="/"' in page and "Back to GradHub" in page
    assert 'id="swagger-ui"' in page  # the docs themselves still render below the bar
