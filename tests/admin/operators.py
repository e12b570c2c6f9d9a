"""A platform-admin session with the second factor presented (operators always need one)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.test import Client
from django_tenants.utils import schema_context


def verified_login(client: Client, email: str) -> None:
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    with schema_context("public"):
        user = get_user_model().objects.get(username=email)
        device = TOTPDevice.objects.create(user=user, name="tests", confirmed=True)
        client.force_login(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
