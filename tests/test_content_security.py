"""Every page carries a Content-Security-Policy that forbids inline scripts, and no page needs one."""

import re

import pytest

INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)


def assert_no_inline_script(response) -> None:
    html = response.content.decode()
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html)
    assert not INLINE_HANDLER.search(html), INLINE_HANDLER.search(html).group(0)


def test_pages_forbid_inline_scripts_and_use_none(client, coordinator, collective, make_round, make_bucket):
    round = make_round()
    bucket = make_bucket(round)
    assert_no_inline_script(client.get("/accounts/login/"))
    client.force_login(coordinator)
    for path in ("/", f"/c/{collective.slug}/", f"/c/{collective.slug}/cobudget/{round.pk}/",
                 f"/c/{collective.slug}/cobudget/buckets/{bucket.pk}/", "/notifications/", "/api/v1/docs/",
                 f"/c/{collective.slug}/accounting/", f"/c/{collective.slug}/contributions/"):
        response = client.get(path)
        assert response.status_code == 200, path
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
        assert_no_inline_script(response)


def test_the_api_documentation_loads_its_script_from_the_site(client, coordinator):
    client.force_login(coordinator)
    html = client.get("/api/v1/docs/").content.decode()
    sources = re.findall(r'<script src="([^"]+)"', html)
    assert sources and all(source.startswith("/") for source in sources)
    assert client.get(sources[-1].replace("&amp;", "&")).status_code == 200


@pytest.mark.parametrize("template", ["cobudget/round_detail.html", "cobudget/bucket_detail.html"])
def test_confirmations_are_asked_by_the_shared_script(template):
    from django.template.loader import get_template

    source = get_template(template).template.source
    assert "data-confirm=" in source and "onsubmit" not in source
