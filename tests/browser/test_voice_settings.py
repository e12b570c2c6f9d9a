"""The owner sets what "vormittags" means for the voice agent, in the admin, in a real browser."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_owner_sets_the_parts_of_the_day_and_a_wrong_window_is_refused_in_german(
        committed_db, web_server, browser_page, salon):
    from calls.models import VoiceSettings

    # given
    page = browser_page(web_server.tenant_login(salon, role="admin"))
    page.goto(web_server.url("salon-schmidt.localhost", "/admin/calls/voicesettings/add/"))

    # when: a morning that ends before it starts
    page.fill("textarea[name=daypart_hours]", '{"vormittags": "12:00-09:00"}')
    with page.expect_navigation():
        page.locator("form button[type=submit][name=_save], form input[type=submit][name=_save]").first.click()

    # then: refused, said in German, nothing stored
    assert page.get_by_text("Ungültige Tageszeit: vormittags: '12:00-09:00' endet nicht nach dem Beginn").count() == 1
    with tenant_context(salon):
        assert VoiceSettings.objects.count() == 0

    # when: a proper window
    page.fill("textarea[name=daypart_hours]", '{"vormittags": "09:00-12:00"}')
    with page.expect_navigation():
        page.locator("form button[type=submit][name=_save], form input[type=submit][name=_save]").first.click()

    # then
    with tenant_context(salon):
        assert list(VoiceSettings.objects.values_list("daypart_hours", flat=True)) == [{"vormittags": "09:00-12:00"}]
    assert page.js_errors == []
