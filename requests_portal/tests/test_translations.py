"""English is complete: sources are Indonesian, and every string a person reads has its
English translation in locale/en. When one of these fails after adding strings, run
`manage.py makemessages -l en -l id -i var`, translate the new entries of
locale/en/LC_MESSAGES/django.po and `manage.py compilemessages -i .venv -i var`."""

from pathlib import Path

import pytest
from django.apps import apps
from django.contrib import admin
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import trans_real

APPS = ("merchants", "messaging", "retention", "consent", "requests_portal")


def _po_entries(path):
    """(msgid, [msgstr...], flags) of every entry of a .po file, header excluded."""
    entries, current, key, flags = [], None, None, set()

    def unquote(text):
        return text.strip()[1:-1].encode("raw_unicode_escape").decode("unicode_escape")

    for line in Path(path).read_text(encoding="utf-8").splitlines() + [""]:
        if line.startswith("#,"):
            flags |= {f.strip() for f in line[2:].split(",")}
        elif line.startswith("msgid "):
            current, key = {"msgid": unquote(line[6:]), "msgstr": [], "flags": flags}, "msgid"
        elif line.startswith("msgid_plural "):
            key = "plural"
        elif line.startswith("msgstr"):
            current["msgstr"].append(unquote(line.split(" ", 1)[1]))
            key = "msgstr"
        elif line.startswith('"') and current is not None:
            if key == "msgid":
                current["msgid"] += unquote(line)
            elif key == "msgstr":
                current["msgstr"][-1] += unquote(line)
        elif not line.strip():
            if current is not None and current["msgid"]:
                entries.append(current)
            current, key, flags = None, None, set()
    return entries


def test_every_entry_of_the_english_catalog_is_translated():
    entries = _po_entries(Path(settings.BASE_DIR) / "locale/en/LC_MESSAGES/django.po")
    assert len(entries) > 100
    untranslated = [e["msgid"] for e in entries if not all(e["msgstr"]) or "fuzzy" in e["flags"]]
    assert not untranslated, f"untranslated in locale/en: {untranslated}"


def _model_strings():
    for app_label in APPS:
        config = apps.get_app_config(app_label)
        yield config.verbose_name
        for model in config.get_models():
            if model.__name__.startswith("Historical"):
                continue
            yield model._meta.verbose_name
            yield model._meta.verbose_name_plural
            for field in model._meta.get_fields():
                for text in (getattr(field, "verbose_name", None), getattr(field, "help_text", None)):
                    yield text
                for _value, label in getattr(field, "flatchoices", None) or ():
                    yield label


def test_every_model_string_has_an_english_translation():
    catalog = trans_real.translation("en")._catalog
    missing = set()
    for text in _model_strings():
        if not isinstance(text, Promise):
            continue  # not marked for translation (a field's default name, say)
        with translation.override("id"):
            source = str(text)
        if source and source not in catalog:
            missing.add(source)
    assert not missing, f"no English for: {sorted(missing)}"


@pytest.mark.django_db
def test_the_admin_is_titled_for_juno_privacy(admin_client):
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert "<title>Kepatuhan data pribadi JUNOPOS | JUNO Privacy</title>" in html
    assert "Data JUNOPOS" in html
    with translation.override("en"):
        assert str(admin.site.index_title) == "JUNOPOS personal data compliance"
