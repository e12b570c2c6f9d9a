"""Admin login lockout (django-axes) and the second factor (django-otp) on both admins."""

from __future__ import annotations

from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import schema_context, tenant_context

from tenants import services
from tests.conftest import PHYSIO_HOST, SALON_HOST
from tests.fixtures.security import give_totp, login_operator, totp_code

PASSWORD = "s3cret-pass!"
ADMIN = "chefin@salon.example"
OPERATOR = "op@askpro.example"


def _login(client: Client, username: str, password: str, code: str = "") -> int:
    data = {"username": username, "password": password}
    if code:
        data["otp_token"] = code
    return client.post("/admin/login/", data).status_code


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_a_tenant_login_is_locked_after_five_failures_even_with_the_right_password(salon):
    # given a tenant admin
    services.create_tenant_user(salon, email=ADMIN, role="admin", password=PASSWORD)
    client = Client(HTTP_HOST=SALON_HOST)

    # when five wrong passwords are tried
    statuses = [_login(client, ADMIN, f"wrong-{i}") for i in range(5)]

    # then the right one is refused too, with the lockout page
    response = client.post("/admin/login/", {"username": ADMIN, "password": PASSWORD})
    assert statuses[:4] == [200, 200, 200, 200]
    assert statuses[4] == 429
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert not _logged_in(client)
    # and another address cannot use the account either (locked per username)
    elsewhere = Client(HTTP_HOST=SALON_HOST, REMOTE_ADDR="198.51.100.7")
    assert _login(elsewhere, ADMIN, PASSWORD) == 429
    assert not _logged_in(elsewhere)


def test_one_address_trying_many_usernames_is_locked(salon):
    services.create_tenant_user(salon, email=ADMIN, role="admin", password=PASSWORD)
    client = Client(HTTP_HOST=SALON_HOST, REMOTE_ADDR="203.0.113.9")

    for i in range(5):
        _login(client, f"guess{i}@salon.example", "wrong")

    assert _login(client, ADMIN, PASSWORD) == 429
    assert not _logged_in(client)
    # another address still logs in
    assert _login(Client(HTTP_HOST=SALON_HOST, REMOTE_ADDR="203.0.113.10"), ADMIN, PASSWORD) == 302


def test_the_unlock_command_lifts_a_tenant_lockout(salon, capsys):
    services.create_tenant_user(salon, email=ADMIN, role="admin", password=PASSWORD)
    client = Client(HTTP_HOST=SALON_HOST)
    for i in range(5):
        _login(client, ADMIN, f"wrong-{i}")
    assert _login(client, ADMIN, PASSWORD) == 429

    call_command("unlock_login", "--tenant", "salon-schmidt", "--username", ADMIN.upper())

    assert "Unlocked: 1 failed-login record(s) removed." in capsys.readouterr().out
    assert _login(client, ADMIN, PASSWORD) == 302
    assert _logged_in(client)


def test_a_lockout_lives_in_the_schema_of_the_host(salon, physio):
    # given the same login name and address locked on Salon Schmidt
    services.create_tenant_user(salon, email=ADMIN, role="admin", password=PASSWORD)
    services.create_tenant_user(physio, email=ADMIN, role="admin", password=PASSWORD)
    for i in range(5):
        _login(Client(HTTP_HOST=SALON_HOST), ADMIN, f"wrong-{i}")

    # then Physio Nord's login is not affected and its schema has no records
    assert _login(Client(HTTP_HOST=PHYSIO_HOST), ADMIN, PASSWORD) == 302
    with tenant_context(physio):
        assert AccessAttempt.objects.count() == 0
    with tenant_context(salon):
        assert list(AccessAttempt.objects.values_list("username", "failures_since_start")) == [(ADMIN, 5)]


def test_an_operator_unlocks_a_platform_login_in_the_admin(public_tenant):
    # given a locked operator account and a second operator
    services.create_operator(email="locked@askpro.example", password=PASSWORD)
    services.create_operator(email=OPERATOR, password=PASSWORD)
    attacker = Client(HTTP_HOST="localhost", REMOTE_ADDR="192.0.2.1")
    for i in range(5):
        _login(attacker, "locked@askpro.example", f"wrong-{i}")
    admin = Client(HTTP_HOST="localhost")
    assert login_operator(admin, OPERATOR, PASSWORD).status_code == 302

    # when the second operator sees the lockouts and unlocks the account
    listing = admin.get("/admin/axes/accessattempt/")
    attempt = AccessAttempt.objects.get(username="locked@askpro.example")
    response = admin.post(
        "/admin/axes/accessattempt/",
        {"action": "unlock", "_selected_action": [attempt.pk]},
    )

    # then the account logs in again
    assert listing.status_code == 200
    assert "locked@askpro.example" in listing.content.decode()
    assert response.status_code == 302
    assert AccessAttempt.objects.count() == 0
    device = give_totp("locked@askpro.example")
    assert _login(Client(HTTP_HOST="localhost"), "locked@askpro.example", PASSWORD, totp_code(device)) == 302


def test_the_platform_admin_refuses_an_operator_without_a_code(public_tenant):
    services.create_operator(email=OPERATOR, password=PASSWORD, superuser=True)
    give_totp(OPERATOR)
    client = Client(HTTP_HOST="localhost")

    response = client.post("/admin/login/", {"username": OPERATOR, "password": PASSWORD})

    assert response.status_code == 200
    assert "This account needs an authentication code." in response.content.decode()
    assert not _logged_in(client)
    assert client.get("/admin/").status_code == 302
    assert AccessAttempt.objects.get(username=OPERATOR).failures_since_start == 1


def test_the_platform_admin_refuses_a_wrong_code(public_tenant):
    services.create_operator(email=OPERATOR, password=PASSWORD, superuser=True)
    device = give_totp(OPERATOR)
    wrong = f"{(int(totp_code(device)) + 1) % 1_000_000:06d}"
    client = Client(HTTP_HOST="localhost")

    response = client.post("/admin/login/", {"username": OPERATOR, "password": PASSWORD, "otp_token": wrong})

    assert response.status_code == 200
    assert "The authentication code is not valid." in response.content.decode()
    assert not _logged_in(client)


def test_an_operator_without_an_authenticator_app_cannot_log_in(public_tenant):
    services.create_operator(email=OPERATOR, password=PASSWORD, superuser=True)
    client = Client(HTTP_HOST="localhost")

    response = client.post("/admin/login/", {"username": OPERATOR, "password": PASSWORD, "otp_token": "123456"})

    assert response.status_code == 200
    assert "has no authenticator app yet" in response.content.decode()
    assert not _logged_in(client)


def test_an_operator_logs_in_with_password_and_totp_code(public_tenant):
    services.create_operator(email=OPERATOR, password=PASSWORD, superuser=True)
    device = give_totp(OPERATOR)
    client = Client(HTTP_HOST="localhost")

    status = _login(client, OPERATOR, PASSWORD, totp_code(device))

    assert status == 302
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/tenants/tenant/").status_code == 200


def test_a_session_without_the_second_factor_gets_no_platform_admin(public_tenant):
    # given an operator session that never presented a code (e.g. a password-only login path)
    services.create_operator(email=OPERATOR, password=PASSWORD, superuser=True)
    give_totp(OPERATOR)
    client = Client(HTTP_HOST="localhost")
    with schema_context("public"):
        client.force_login(get_user_model().objects.get(username=OPERATOR))

    response = client.get("/admin/tenants/tenant/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_a_recovery_code_logs_in_once(public_tenant, capsys):
    services.create_operator(email=OPERATOR, password=PASSWORD, superuser=True)
    call_command("setup_totp", OPERATOR)
    out = capsys.readouterr().out
    codes = out.split("Recovery codes (each works once):")[1].split()
    assert len(codes) == 10

    first = Client(HTTP_HOST="localhost")
    second = Client(HTTP_HOST="localhost")

    assert _login(first, OPERATOR, PASSWORD, codes[0]) == 302
    assert _login(second, OPERATOR, PASSWORD, codes[0]) == 200
    assert not _logged_in(second)
    assert StaticToken.objects.filter(device__user__username=OPERATOR).count() == 9


def test_a_tenant_admin_without_totp_logs_in_with_the_password(salon):
    services.create_tenant_user(salon, email=ADMIN, role="admin", password=PASSWORD)
    client = Client(HTTP_HOST=SALON_HOST)

    assert _login(client, ADMIN, PASSWORD) == 302
    assert client.get("/admin/").status_code == 200


def test_a_tenant_admin_turns_on_totp_and_then_needs_it(salon):
    # given a tenant admin logged in with the password
    services.create_tenant_user(salon, email=ADMIN, role="admin", password=PASSWORD)
    client = Client(HTTP_HOST=SALON_HOST)
    assert _login(client, ADMIN, PASSWORD) == 302

    # when they open the two-factor page and confirm a code from their app
    page = client.get("/admin/two-factor/")
    with tenant_context(salon):
        device = TOTPDevice.objects.get(user__username=ADMIN, confirmed=False)
    confirmed = client.post("/admin/two-factor/", {"otp_token": totp_code(device)})

    # then the device is on, ten recovery codes are shown once, and the next login needs a code
    assert page.status_code == 200
    assert 'id="totp-secret"' in page.content.decode()
    assert confirmed.status_code == 200
    with tenant_context(salon):
        assert TOTPDevice.objects.filter(user__username=ADMIN, confirmed=True).count() == 1
        assert StaticToken.objects.filter(device__user__username=ADMIN).count() == 10
    assert confirmed.content.decode().count("<li>") >= 10
    fresh = Client(HTTP_HOST=SALON_HOST)
    assert _login(fresh, ADMIN, PASSWORD) == 200
    assert not _logged_in(fresh)
    with tenant_context(salon):
        device.refresh_from_db()
    assert _login(fresh, ADMIN, PASSWORD, totp_code(device, drift=1)) == 302
    assert fresh.get("/admin/").status_code == 200


def test_a_wrong_code_does_not_turn_on_totp(salon):
    services.create_tenant_user(salon, email=ADMIN, role="admin", password=PASSWORD)
    client = Client(HTTP_HOST=SALON_HOST)
    _login(client, ADMIN, PASSWORD)
    client.get("/admin/two-factor/")
    with tenant_context(salon):
        device = TOTPDevice.objects.get(user__username=ADMIN)
    wrong = f"{(int(totp_code(device)) + 1) % 1_000_000:06d}"

    response = client.post("/admin/two-factor/", {"otp_token": wrong})

    assert "The authentication code is not valid." in response.content.decode()
    with tenant_context(salon):
        assert TOTPDevice.objects.filter(user__username=ADMIN, confirmed=True).count() == 0
        assert StaticToken.objects.count() == 0


def test_the_demo_operator_gets_an_authenticator_app_and_seed_demo_prints_it(public_tenant):
    from tenants import demo

    services.create_operator(email=demo.OPERATOR_EMAIL, password=demo.DEMO_PASSWORD, superuser=True)

    secret, code, recovery = demo.operator_second_factor()

    assert len(secret) == 32 and len(code) == 6 and len(recovery) == 10
    assert demo.operator_second_factor()[0] == secret  # stable across runs
    client = Client(HTTP_HOST="localhost")
    assert _login(client, demo.OPERATOR_EMAIL, demo.DEMO_PASSWORD, code) == 302
