"""Uploads are checked by their content: a file must be what its name says, and nothing a browser would run."""

import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from contrib_budget.uploads import validate_file_content
from contributions.models import Contribution
from tests.conftest import MONDAY
from tests.files import pdf_bytes, png_bytes


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def office(names: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "x")
    return buffer.getvalue()


@pytest.mark.parametrize("name,content", [
    ("photo.png", png_bytes()),
    ("facture.pdf", pdf_bytes()),
    ("note.txt", "Reçu de la quincaillerie : 12,50 €\n".encode()),
    ("tableau.xlsx", office(["[Content_Types].xml", "xl/workbook.xml"])),
    ("texte.odt", office(["mimetype", "content.xml"])),
    ("ancien.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100),
])
def test_a_file_that_is_what_its_name_says_passes(name, content):
    validate_file_content(upload(name, content))


@pytest.mark.parametrize("name,content", [
    ("photo.png", b"<html><script>alert(1)</script></html>"),
    ("photo.png", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
    ("photo.jpg", png_bytes()),
    ("facture.pdf", png_bytes()),
    ("facture.pdf", b"%PDF-1.4 not really a pdf"),
    ("note.txt", b"<!DOCTYPE html><html><body>hi</body></html>"),
    ("note.txt", b"\x00\x01\x02binary"),
    ("tableau.xlsx", b"PK\x03\x04 broken zip"),
    ("tableau.xlsx", office(["mimetype"])),
    ("ancien.doc", b"plain text"),
])
def test_a_file_whose_content_does_not_match_is_refused(name, content):
    with pytest.raises(ValidationError) as refused:
        validate_file_content(upload(name, content))
    assert refused.value.code == "invalid_content"


def test_the_api_refuses_an_html_page_named_like_a_receipt(api, member, collective, budget, rate, settings,
                                                           tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    response = api(member).post(f"/api/v1/collectives/{collective.slug}/contributions/", {
        "budget": budget.pk, "performed_on": str(MONDAY), "description": "Accueil", "minutes": 60,
        "rate_level": rate.pk, "attachment": upload("ticket.pdf", b"<html><script>alert(1)</script></html>"),
    }, format="multipart")
    assert response.status_code == 400 and "attachment" in response.json()["fields"]
    assert not Contribution.objects.exists()


def test_a_checked_file_can_still_be_read_from_the_start():
    file = upload("facture.pdf", pdf_bytes())
    validate_file_content(file)
    assert file.read(5) == b"%PDF-"
