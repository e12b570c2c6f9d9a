"""German-first: the catalogue is complete and compiled, and callers get the language they ask for.

Tests run with LANGUAGE_CODE = "en" (askpro/settings_test.py); the production default "de" is
set explicitly where it matters.
"""

from __future__ import annotations

import ast
import gettext
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import translation

from appointments.errors import PolicyViolation, SlotUnavailable
from appointments.models import Appointment
from tenants import services as tenant_services

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "de" / "LC_MESSAGES"


@dataclass
class PoEntry:
    msgid: str = ""
    msgid_plural: str = ""
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    fuzzy: bool = False


def _po_entries(path: Path) -> list[PoEntry]:
    """The entries of a .po file, wrapped or not (header and obsolete ``#~`` entries left out)."""
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        entry, current = PoEntry(), ("", 0)
        for line in block.strip().splitlines():
            if line.startswith("#,"):
                entry.fuzzy = "fuzzy" in line
            elif line.startswith("#"):
                continue
            else:
                if not line.startswith('"'):
                    keyword, _, line = line.partition(" ")
                    current = ("msgstr", int(keyword[7:-1])) if keyword.startswith("msgstr[") else (keyword, 0)
                    _set(entry, current, "")
                _set(entry, current, _get(entry, current) + ast.literal_eval(line))
        if entry.msgid:
            entries.append(entry)
    return entries


def _get(entry: PoEntry, current: tuple[str, int]) -> str:
    name, index = current
    return entry.msgstr.get(index, "") if name == "msgstr" else getattr(entry, name) or ""


def _set(entry: PoEntry, current: tuple[str, int], text: str) -> None:
    name, index = current
    if name == "msgstr":
        entry.msgstr[index] = text
    else:
        setattr(entry, name, text)


def test_every_german_message_is_translated_and_none_is_fuzzy():
    entries = _po_entries(CATALOGUE / "django.po")

    untranslated = [e.msgid for e in entries if not all(e.msgstr.values())]
    fuzzy = [e.msgid for e in entries if e.fuzzy]

    assert len(entries) > 1000
    assert (untranslated, fuzzy) == ([], [])


def test_the_committed_mo_file_matches_the_po_file():
    # a forgotten compilemessages would serve stale German
    with (CATALOGUE / "django.mo").open("rb") as mo_file:
        compiled = gettext.GNUTranslations(mo_file)

    stale = []
    for entry in _po_entries(CATALOGUE / "django.po"):
        if entry.msgid_plural:
            actual = compiled.ngettext(entry.msgid, entry.msgid_plural, 1)
        elif entry.msgctxt is not None:
            actual = compiled.pgettext(entry.msgctxt, entry.msgid)
        else:
            actual = compiled.gettext(entry.msgid)
        if actual != entry.msgstr[0]:
            stale.append(entry.msgid)

    assert stale == []


def test_an_api_error_answers_in_the_language_the_caller_asks_for(salon_client, in_salon):
    # given the booking API called without credentials
    def ask(language: str):
        return salon_client.post("/api/v2/availability/simple", data={}, content_type="application/json",
                                 HTTP_ACCEPT_LANGUAGE=language)

    # when
    german, english = ask("de-DE,de;q=0.9,en;q=0.5"), ask("en")

    # then
    assert (german.status_code, english.status_code) == (401, 401)
    assert german.json()["error"] == {"code": "AUTHENTICATION_REQUIRED", "message": "Eine Anmeldung ist erforderlich.",
                                      "details": {}}
    assert english.json()["error"] == {"code": "AUTHENTICATION_REQUIRED", "message": "Authentication is required.",
                                       "details": {}}
    assert (german["Content-Language"], english["Content-Language"]) == ("de", "en")


def test_field_errors_of_the_api_are_german_too(salon_client, api_key):
    _, raw = api_key

    response = salon_client.post("/api/v2/availability/simple", data={}, content_type="application/json",
                                 HTTP_AUTHORIZATION=f"Bearer {raw}", HTTP_ACCEPT_LANGUAGE="de")

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "VALIDATION_ERROR", "message": "Einige Felder sind ungültig.",
        "details": {"fields": {"date": ["Dieses Feld ist zwingend erforderlich."],
                               "service_id": ["Dieses Feld ist zwingend erforderlich."]}},
    }


def test_an_unknown_host_answers_in_the_language_the_caller_asks_for(db):
    # given a host no tenant owns (answered before LocaleMiddleware runs)
    client = Client(HTTP_HOST="unbekannt.localhost")

    # when
    german = client.get("/api/v2/availability/simple", HTTP_ACCEPT_LANGUAGE="de")
    english = client.get("/api/v2/availability/simple", HTTP_ACCEPT_LANGUAGE="en")

    # then
    assert (german.status_code, english.status_code) == (404, 404)
    assert german.json()["error"]["message"] == "Für den Host unbekannt.localhost ist kein AskPro-Konto eingerichtet."
    assert english.json()["error"]["message"] == "No AskPro account is configured for the host unbekannt.localhost."
    assert german.json()["error"]["code"] == english.json()["error"]["code"] == "TENANT_NOT_FOUND"


def test_without_a_language_preference_the_product_speaks_german(salon_client, in_salon, settings):
    # given the production default
    settings.LANGUAGE_CODE = "de"

    # when a caller states no language at all
    api = salon_client.post("/api/v2/availability/simple", data={}, content_type="application/json")
    unknown_host = Client(HTTP_HOST="unbekannt.localhost").get("/admin/")

    # then
    assert api.json()["error"]["message"] == "Eine Anmeldung ist erforderlich."
    assert unknown_host.json()["error"]["message"] == (
        "Für den Host unbekannt.localhost ist kein AskPro-Konto eingerichtet.")


def test_the_tenant_admin_login_page_is_german_when_the_browser_asks_for_german(salon_client, in_salon):
    response = salon_client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")

    assert response.status_code == 200
    page = response.content.decode()
    for german in ("Willkommen zurück bei", "Benutzername", "Passwort", "Anmelden", "Zurück zur Website"):
        assert german in page
    for english in ("Welcome back to", "Username", "Password", "Log in", "Return to site"):
        assert english not in page


def test_the_tenant_admin_login_page_is_english_when_the_browser_asks_for_english(salon_client, in_salon):
    response = salon_client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    page = response.content.decode()
    assert all(english in page for english in ("Welcome back to", "Username", "Password", "Log in"))
    assert "Benutzername" not in page


@pytest.fixture
def german_admin(salon, salon_client, in_salon):
    tenant_services.create_tenant_user(salon, email="chefin@salon.example", role="admin", password="s3cret-pass!")
    salon_client.force_login(get_user_model().objects.get(username="chefin@salon.example"))
    salon_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "de"
    return salon_client


def test_the_german_admin_index_renders_in_german(german_admin):
    response = german_admin.get("/admin/")

    assert response.status_code == 200
    page = response.content.decode()
    for german in ("Ihr Unternehmen", "Termine", "Filialen", "Kunden", "Leistungen", "Mitarbeiter", "Richtlinien",
                   "Anrufe", "Rückrufbitten", "Benachrichtigungsvorlagen", "Abmelden"):
        assert german in page
    for english in ("Your business", "Branches", "Customers", "Callback requests", "Notification templates"):
        assert english not in page


def test_the_german_appointment_pages_show_german_statuses_and_actions(german_admin, erika_haarschnitt):
    changelist = german_admin.get("/admin/appointments/appointment/")
    change = german_admin.get(f"/admin/appointments/appointment/{erika_haarschnitt.pk}/change/")
    cancel = german_admin.get(f"/admin/appointments/appointment/{erika_haarschnitt.pk}/cancel/")

    assert (changelist.status_code, change.status_code, cancel.status_code) == (200, 200, 200)
    listing = changelist.content.decode()
    for german in ("Aktion auswählen", "Ausführen", "Ausstehend", "Bestätigt", "Storniert", "Nicht erschienen",
                   "Als nicht erschienen markieren", "Telefon (Voice-Agent)"):
        assert german in listing
    assert "Select action" not in listing
    detail = change.content.decode()
    assert all(german in detail for german in ("Stornieren", "Verschieben", "Beginn", "Kunde", "Leistung"))
    dialog = cancel.content.decode()
    assert all(german in dialog for german in ("Termin stornieren", "Die Stornierungsrichtlinie wird geprüft", "Grund"))


def test_the_appointment_status_labels_are_german():
    with translation.override("de"):
        labels = {status.value: str(status.label) for status in Appointment.Status}

    assert labels == {
        "pending": "Ausstehend", "confirmed": "Bestätigt", "in_progress": "In Bearbeitung",
        "completed": "Abgeschlossen", "cancelled": "Storniert", "no_show": "Nicht erschienen",
    }


def test_key_domain_words_and_refusals_are_german():
    with translation.override("de"):
        names = [str(Appointment._meta.verbose_name), str(Appointment._meta.verbose_name_plural)]
        refusals = [SlotUnavailable().as_dict()["message"], PolicyViolation().as_dict()["message"]]
        business = str(translation.gettext("Top up balance")), str(translation.gettext("Callback requested"))

    assert names == ["Termin", "Termine"]
    assert refusals == ["Diese Zeit ist nicht mehr verfügbar.", "Die Buchungsrichtlinie erlaubt diese Änderung nicht."]
    assert business == ("Guthaben aufladen", "Rückruf erbeten")


def test_without_an_active_language_tests_speak_english():
    # the reason tests can assert English messages: see askpro/settings_test.py
    assert (settings.LANGUAGE_CODE, translation.get_language()) == ("en", "en")
    assert str(SlotUnavailable().message) == "This time is no longer available."


def test_every_tenant_admin_list_and_form_renders_in_german(german_admin, erika_haarschnitt):
    # catches translations that break at runtime (placeholders, format strings) on any page
    from askpro.admin_sites import tenant_admin_site

    lists, forms = {}, {}
    for model, model_admin in tenant_admin_site._registry.items():
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        listing = german_admin.get(base)
        lists[base] = listing.status_code
        # read-only admins refuse the add form
        expected = 200 if model_admin.has_add_permission(listing.wsgi_request) else 403
        forms[f"{base}add/"] = (german_admin.get(f"{base}add/").status_code, expected)

    assert len(lists) > 20
    assert {page: status for page, status in lists.items() if status != 200} == {}
    assert {page: (status, expected) for page, (status, expected) in forms.items() if status != expected} == {}


def test_a_user_can_switch_the_admin_to_english_against_the_browser_language(german_admin):
    # given a German browser
    assert "Ihr Unternehmen" in german_admin.get("/admin/").content.decode()

    # when the user picks English in the language menu
    switched = german_admin.post("/i18n/setlang/", {"language": "en", "next": "/admin/"})

    # then the admin stays English although the browser still asks for German
    assert (switched.status_code, switched["Location"]) == (302, "/admin/")
    page = german_admin.get("/admin/").content.decode()
    assert "Your business" in page
    assert "Ihr Unternehmen" not in page
