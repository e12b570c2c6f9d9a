"""The browser harness itself: a real login into both admins, in German, without script errors."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_salon_owner_signs_in_and_sees_the_german_admin(committed_db, web_server, browser_page, salon):
    login = web_server.tenant_login(salon, role="admin")

    page = browser_page(login)

    assert page.url == web_server.url("salon-schmidt.localhost", "/admin/")
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.get_by_text("Abmelden").count() + page.locator("form#logout-form").count() >= 1
    assert page.js_errors == []


def test_a_wrong_password_stays_on_the_login_page(committed_db, web_server, browser_page, salon):
    login = web_server.tenant_login(salon, role="admin")
    login.password = "not-the-password"

    with pytest.raises(AssertionError, match="still at"):
        browser_page(login)


def test_an_operator_signs_in_to_the_platform_admin(committed_db, web_server, browser_page, public_tenant):
    login = web_server.operator_login()

    page = browser_page(login)

    assert page.url == web_server.url("localhost", "/admin/")
    assert page.js_errors == []
