"""The public shell: Indonesian by default, English on request, the controller's contact
details on every page, no dead links and nothing loaded from another site."""

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.contrib.staticfiles import finders
from django.urls import Resolver404, resolve

from requests_portal.rights import RIGHTS
from retention.registry import Category

pytestmark = pytest.mark.django_db


class _Page(HTMLParser):
    """Collects what the tests look at: links, resources, element ids, the language switch."""

    def __init__(self, html):
        super().__init__()
        self.html_lang = None
        self.hrefs = []
        self.resources = []  # (tag, url) of everything the browser would fetch
        self.ids = set()
        self.forms = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "html":
            self.html_lang = attrs.get("lang")
        elif tag == "a" and "href" in attrs:
            self.hrefs.append(attrs["href"])
        elif tag == "link" and attrs.get("href"):
            self.resources.append((tag, attrs["href"]))
        elif tag in ("script", "img", "iframe", "source") and attrs.get("src"):
            self.resources.append((tag, attrs["src"]))
        elif tag == "form":
            self.forms.append({"action": attrs.get("action"), "method": attrs.get("method"), "fields": {}, "buttons": []})
        elif tag == "input" and self.forms:
            self.forms[-1]["fields"][attrs.get("name")] = attrs.get("value")
        elif tag == "button" and self.forms:
            self.forms[-1]["buttons"].append((attrs.get("name"), attrs.get("value")))


def _page(response):
    assert response.status_code == 200
    return _Page(response.content.decode())


def test_home_is_in_indonesian_by_default(client):
    response = client.get("/")
    page = _page(response)
    html = response.content.decode()
    assert page.html_lang == "id"
    assert response["Content-Language"] == "id"
    assert "Hak Anda atas data pribadi di JUNOPOS" in html
    assert "3 x 24 jam" in html
    # Every right but "information" links to its request form.
    assert "Formulir segera hadir" not in html
    for key in ("access", "portability", "correction", "deletion", "withdrawal", "restriction", "objection", "appeal"):
        assert f'href="/permintaan/{key}/"' in html


def test_home_explains_every_right(client):
    html = client.get("/").content.decode()
    for right in RIGHTS:
        assert str(right.title) in html
        assert str(right.law) in html
    for title in ("Akses dan salinan data", "Portabilitas data", "Perbaikan data", "Penghapusan data",
                  "Menarik persetujuan", "Menunda atau membatasi pemrosesan", "Keberatan", "Mendapatkan informasi"):
        assert title in html


def test_home_lists_the_eight_categories_of_the_policy(client):
    page = _page(client.get("/"))
    html = client.get("/").content.decode()
    assert len(Category.choices) == 8
    for category in Category:
        assert f"category-{category.value}" in page.ids
        assert str(category.label) in html


def test_switching_to_english_with_set_language(client):
    home = _page(client.get("/"))
    switch = next(f for f in home.forms if f["action"] == "/i18n/setlang/")
    assert switch["method"] == "post"
    assert switch["fields"]["next"] == "/"
    assert ("language", "en") in switch["buttons"] and ("language", "id") in switch["buttons"]

    response = client.post("/i18n/setlang/", {"language": "en", "next": switch["fields"]["next"]}, follow=True)
    assert response.redirect_chain[-1][0] == "/en/"
    page = _page(response)
    html = response.content.decode()
    assert page.html_lang == "en"
    assert "Your rights over your personal data at JUNOPOS" in html
    assert "3 x 24 hours" in html
    assert 'href="/en/permintaan/deletion/"' in html
    assert "Hak Anda atas data pribadi" not in html

    # And back to Indonesian, on the unprefixed address, with the switch of the English page.
    switch = next(f for f in page.forms if f["action"] == "/i18n/setlang/")
    response = client.post("/i18n/setlang/", {"language": "id", "next": switch["fields"]["next"]}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert _page(response).html_lang == "id"


def test_english_by_url_prefix(client):
    response = client.get("/en/")
    page = _page(response)
    html = response.content.decode()
    assert page.html_lang == "en"
    assert "Your rights over your personal data at JUNOPOS" in html
    # The eight categories and their contents are translated too.
    assert "Automatically collected technical data" in html
    assert "IP address" in html
    # The switch on an English page leads to the same page in the language chosen.
    switch = next(f for f in page.forms if f["action"] == "/i18n/setlang/")
    for language, address in (("id", "/"), ("en", "/en/")):
        response = client.post("/i18n/setlang/", {"language": language, "next": switch["fields"]["next"]})
        assert response.status_code == 302
        assert response["Location"] == address


@pytest.mark.parametrize("path", ["/", "/en/"])
def test_contact_details_of_the_controller(client, path):
    html = client.get(path).content.decode()
    page = _Page(html)
    assert "PT Amaya Perdana Kreasindo" in html
    assert "Jl Mawar 01 NO 15 Perumahan Kranggan Permai" in html
    assert "Kel. Jatisampurna, Kec. Jatisampurna" in html
    assert "KOTA BEKASI 17433" in html
    assert "mailto:customer@junopos.com" in page.hrefs
    assert "https://wa.me/6285893658473" in page.hrefs
    assert "+62 858-9365-8473" in html


@pytest.mark.parametrize("path", ["/", "/en/"])
def test_no_resource_from_another_site(client, path):
    page = _page(client.get(path))
    assert page.resources, "the page loads no stylesheet at all"
    for tag, url in page.resources:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"<{tag}> loads {url} from another site"
    stylesheet = finders.find("portal/portal.css")
    assert stylesheet, "portal.css is not a static file"
    css = open(stylesheet, encoding="utf-8").read()
    assert "@import" not in css
    assert "http:" not in css and "https:" not in css and "url(//" not in css


@pytest.mark.parametrize("path", ["/", "/en/"])
def test_no_dead_links(client, path):
    page = _page(client.get(path))
    for href in page.hrefs:
        parts = urlsplit(href)
        if parts.scheme in ("mailto", "https"):
            continue
        if href.startswith("#"):
            assert href[1:] in page.ids, f"{href} points to nothing"
            continue
        try:
            resolve(parts.path)
        except Resolver404:
            pytest.fail(f"{href} leads nowhere")
