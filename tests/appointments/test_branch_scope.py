"""Branch-scoped logins (django-guardian): a staff member or receptionist limited to one branch sees
and acts on that branch's appointments only; owners, managers and unscoped logins see all."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_tenants.utils import tenant_context
from guardian.models import UserObjectPermission

from appointments import access
from appointments.dashboard import figures, timeline_rows
from appointments.models import Appointment
from tenants import services as tenant_services
from tests.conftest import SALON_HOST
from tests.fixtures.appointments import berlin

API = "/admin/appointments/appointment/calendar/api/"


def make_user(salon, role: str, *branches):
    email = f"{role}-{'-'.join(b.name.lower().replace(' ', '') for b in branches) or 'all'}@scope.example"
    tenant_services.create_tenant_user(salon, email=email, role=role, password="s3cret-pass!")
    user = get_user_model().objects.get(username=email)
    access.assign_branches(user, branches)
    return get_user_model().objects.get(pk=user.pk)  # fresh: no cached scope


def client_for(user) -> Client:
    client = Client(HTTP_HOST=SALON_HOST, HTTP_ACCEPT_LANGUAGE="de")
    client.force_login(user)
    return client


@pytest.fixture
def two_branches(erika_haarschnitt, erika_at_nord):
    return erika_haarschnitt, erika_at_nord


def test_owners_managers_and_unassigned_logins_see_every_branch(salon, in_salon, branch_mitte, branch_nord):
    # given
    owner = make_user(salon, "admin", branch_mitte)  # an assignment does not limit an owner
    manager = make_user(salon, "manager", branch_mitte)
    unassigned = make_user(salon, "staff")
    stylist = make_user(salon, "staff", branch_mitte)
    receptionist = make_user(salon, "receptionist", branch_mitte, branch_nord)

    # then
    assert access.visible_branch_ids(owner) is None
    assert access.visible_branch_ids(manager) is None
    assert access.visible_branch_ids(unassigned) is None
    assert access.visible_branch_ids(stylist) == {branch_mitte.pk}
    assert access.visible_branch_ids(receptionist) == {branch_mitte.pk, branch_nord.pk}
    assert list(access.visible_branches(stylist)) == [branch_mitte]


def test_reassigning_replaces_the_branches(salon, in_salon, branch_mitte, branch_nord):
    stylist = make_user(salon, "staff", branch_mitte)

    access.assign_branches(stylist, [branch_nord])

    assert list(access.assigned_branches(stylist)) == [branch_nord]
    assert access.visible_branch_ids(get_user_model().objects.get(pk=stylist.pk)) == {branch_nord.pk}
    access.assign_branches(stylist, [])
    assert access.visible_branch_ids(get_user_model().objects.get(pk=stylist.pk)) is None


def test_the_changelist_shows_only_the_own_branch(salon, in_salon, two_branches, branch_mitte):
    mitte, nord = two_branches
    stylist = client_for(make_user(salon, "staff", branch_mitte))
    owner = client_for(make_user(salon, "admin"))

    scoped = stylist.get("/admin/appointments/appointment/")
    full = owner.get("/admin/appointments/appointment/")

    assert scoped.status_code == 200
    assert [a.pk for a in scoped.context["cl"].result_list] == [mitte.pk]
    assert sorted(a.pk for a in full.context["cl"].result_list) == [mitte.pk, nord.pk]


def test_another_branchs_change_and_history_pages_answer_404(salon, in_salon, two_branches, branch_mitte):
    mitte, nord = two_branches
    stylist = client_for(make_user(salon, "staff", branch_mitte))

    assert stylist.get(f"/admin/appointments/appointment/{mitte.pk}/change/").status_code == 200
    assert stylist.get(f"/admin/appointments/appointment/{nord.pk}/change/").status_code == 404
    assert stylist.get(f"/admin/appointments/appointment/{nord.pk}/history/").status_code == 404


def test_another_branchs_appointment_cannot_be_cancelled_through_the_admin(salon, in_salon, two_branches,
                                                                         branch_mitte):
    mitte, nord = two_branches
    receptionist = client_for(make_user(salon, "receptionist", branch_mitte))

    detail = receptionist.post(f"/admin/appointments/appointment/{nord.pk}/cancel/", {"reason": "Test"})
    bulk = receptionist.post("/admin/appointments/appointment/", {
        "action": "confirm", "_selected_action": [str(nord.pk)], "index": "0"})

    assert detail.status_code == 403
    assert bulk.status_code == 302  # nothing selected that the login may see
    nord.refresh_from_db()
    assert (nord.status, nord.cancelled_at) == ("confirmed", None)


def test_the_calendar_feed_offers_and_shows_only_the_own_branch(salon, in_salon, two_branches, branch_mitte,
                                                                branch_nord, next_monday):
    mitte, nord = two_branches
    stylist = client_for(make_user(salon, "staff", branch_mitte))

    page = stylist.get("/admin/appointments/appointment/calendar/")
    own = stylist.get(API + "feed/", {"start": next_monday.isoformat()})
    other = stylist.get(API + "feed/", {"start": next_monday.isoformat(), "branch": branch_nord.pk})
    token = stylist.get(API + "changes/", {"branch": branch_nord.pk})
    detail = stylist.get(API + f"appointments/{nord.pk}/")

    assert [b["name"] for b in page.context["calendar_config"]["branches"]] == ["Mitte"]
    assert [e["id"] for e in own.json()["events"] if e["extendedProps"]["kind"] == "appointment"] == [str(mitte.pk)]
    assert other.status_code == 400
    assert other.json()["error"]["code"] == "INVALID_REQUEST" or other.json()["success"] is False
    assert token.status_code == 400
    assert detail.status_code == 404
    assert detail.json()["success"] is False


def test_another_branchs_appointment_cannot_be_moved_booked_or_changed_in_the_calendar(
    salon, in_salon, two_branches, branch_mitte, branch_nord, carla, customer_erika, haarschnitt, next_monday,
):
    mitte, nord = two_branches
    receptionist = client_for(make_user(salon, "receptionist", branch_mitte))
    before = Appointment.objects.count()

    def post(path, body):
        return receptionist.post(API + path, data=json.dumps(body), content_type="application/json")

    moved = post(f"appointments/{nord.pk}/move/", {"start": f"{next_monday}T16:00:00"})
    status = post(f"appointments/{nord.pk}/status/", {"status": "cancelled", "reason": "x"})
    reminded = post(f"appointments/{nord.pk}/remind/", {})
    booked = post("book/", {"branch_id": branch_nord.pk, "staff_id": carla.pk, "service_id": haarschnitt.pk,
                            "customer_id": customer_erika.pk, "start": f"{next_monday}T16:00"})

    assert [r.status_code for r in (moved, status, reminded)] == [404, 404, 404]
    assert moved.json()["error"]["code"] == "APPOINTMENT_NOT_FOUND"
    assert moved.json()["error"]["message"]
    assert booked.status_code == 400
    nord.refresh_from_db()
    assert (nord.starts_at, nord.status, nord.version) == (berlin(next_monday, "14:00"), "confirmed", 1)
    assert Appointment.objects.count() == before
    # the own branch still works
    assert post(f"appointments/{mitte.pk}/move/", {"start": f"{next_monday}T11:00:00"}).status_code == 200


def test_the_customer_page_lists_only_the_own_branchs_appointments(salon, in_salon, two_branches, branch_mitte,
                                                                  customer_erika):
    mitte, nord = two_branches
    stylist = client_for(make_user(salon, "staff", branch_mitte))
    from calls.admin import AppointmentInline  # noqa: F401  (the inline on the customer page)

    manager = client_for(make_user(salon, "manager"))
    url = f"/admin/appointments/customer/{customer_erika.pk}/change/"
    scoped = stylist.get(url)
    full = manager.get(url)

    def shown(response):
        for formset in response.context["inline_admin_formsets"]:
            if formset.formset.model is Appointment:
                return sorted(form.instance.pk for form in formset.formset.forms)
        raise AssertionError("no appointment inline")

    assert scoped.status_code == 200
    assert shown(scoped) == [mitte.pk]
    assert shown(full) == [mitte.pk, nord.pk]
    assert "Prenzlauer Berg" not in scoped.content.decode()
    assert "Prenzlauer Berg" in full.content.decode()


def test_the_export_holds_only_the_own_branch(salon, in_salon, two_branches, branch_mitte):
    receptionist = client_for(make_user(salon, "receptionist", branch_mitte))
    path = "/admin/appointments/appointment/export/"
    page = receptionist.get(path)
    formats = {str(label).lower(): value for value, label in page.context["form"].fields["format"].choices}

    response = receptionist.post(path, {"format": formats["csv"]})

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 2
    assert "Mitte" in rows[1]
    assert "Prenzlauer Berg" not in response.content.decode("utf-8-sig")


def test_the_dashboard_timeline_and_figures_follow_the_scope(salon, in_salon, branch_mitte, branch_nord, anna,
                                                             carla, customer_erika, haarschnitt):
    from django.utils import timezone

    from appointments.models import Appointment as A

    now = timezone.now()
    for staff, branch in ((anna, branch_mitte), (carla, branch_nord)):
        A.objects.create(customer=customer_erika, service=haarschnitt, staff=staff, branch=branch,
                         starts_at=now + timezone.timedelta(minutes=5), ends_at=now + timezone.timedelta(minutes=35),
                         status="confirmed", source="admin", price_cents=3500)
    stylist = make_user(salon, "staff", branch_nord)
    owner = make_user(salon, "admin")

    assert [r["staff"] for r in timeline_rows(now, user=stylist)] == ["Carla Roth"]
    assert sorted(r["staff"] for r in timeline_rows(now, user=owner)) == ["Anna Becker", "Carla Roth"]
    assert figures(now, user=stylist)["today"] == 1
    assert figures(now, user=owner)["today"] == 2
    page = client_for(stylist).get("/admin/")
    assert page.status_code == 200
    timeline = page.content.decode().split('data-testid="today-timeline"')[1].split("</ol>")[0]
    assert "Carla Roth" in timeline and "Anna Becker" not in timeline
    assert "Anna Becker" not in page.content.decode()  # nor in the next free time


def test_the_owner_assigns_branches_on_the_user_page_in_german(salon, in_salon, branch_mitte, branch_nord):
    owner = client_for(make_user(salon, "admin"))
    stylist = make_user(salon, "staff")
    url = f"/admin/auth/user/{stylist.pk}/change/"

    page = owner.get(url)
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update({"work_branches": [str(branch_nord.pk)], "groups": [str(g) for g in data.get("groups", [])]})
    data.pop("password", None)
    data = {k: v for k, v in data.items() if not isinstance(v, bool) or v}
    data["last_login_0"] = data["last_login_1"] = ""
    data["date_joined_0"], data["date_joined_1"] = "01.01.2026", "10:00:00"
    response = owner.post(url, data)

    assert page.status_code == 200
    html = page.content.decode()
    assert "Filialzugang" in html and "Arbeitet in Filialen" in html
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert list(access.assigned_branches(stylist)) == [branch_nord]


def test_an_assignment_stays_in_its_tenant(salon, physio, in_salon, branch_mitte):
    make_user(salon, "staff", branch_mitte)

    assert UserObjectPermission.objects.count() == 1
    with tenant_context(physio):
        assert UserObjectPermission.objects.count() == 0
        tenant_services.create_tenant_user(physio, email="staff-mitte@scope.example", role="staff",
                                           password="s3cret-pass!")
        namesake = get_user_model().objects.get(username="staff-mitte@scope.example")
        assert access.visible_branch_ids(namesake) is None
