"""Admin login security: lockout (django-axes) and the second factor (django-otp).

Operators of the platform admin must present a TOTP code (or a recovery code) at every login;
tenant logins may turn TOTP on for themselves and then must present it too. Lockouts and devices
live in the schema of the host where the login happens, like the users they belong to.
"""

from __future__ import annotations

import base64
import hmac
from dataclasses import dataclass
from typing import Any

from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_otp import devices_for_user, match_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

TOTP_DEVICE_NAME = "Authenticator-App"
RECOVERY_DEVICE_NAME = "Wiederherstellungscodes"


def login_username(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str:
    """The username axes counts failures for: logins are lower-cased e-mail addresses."""
    username = (credentials or {}).get("username") or ""
    if not username and request is not None:
        username = request.POST.get("username", "")
    return str(username).strip().lower()


def has_second_factor(user: Any) -> bool:
    """True when the user has a confirmed TOTP device (recovery codes alone do not count)."""
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).exists()


def is_verified(user: Any) -> bool:
    check = getattr(user, "is_verified", None)
    return bool(check and check())


def requires_second_factor(user: Any, *, platform: bool) -> bool:
    """Operators always; a tenant login once it has turned TOTP on."""
    return platform or has_second_factor(user)


class AdminLoginForm(AdminAuthenticationForm):
    """The admin login with an optional code field; the code is required when the account needs it."""

    require_second_factor_always = False

    otp_token = forms.CharField(
        label=_("Authentication code"),
        required=False,
        max_length=16,
        help_text=_("Six digits from the authenticator app, or a recovery code."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "otp_required": _("This account needs an authentication code."),
        "otp_invalid": _("The authentication code is not valid."),
        "otp_missing_device": _(
            "Two-factor authentication is required for the platform admin, but this account "
            "has no authenticator app yet. An administrator sets it up with "
            "“manage.py setup_totp”."
        ),
    }

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not requires_second_factor(user, platform=self.require_second_factor_always):
            return
        if not has_second_factor(user):
            raise forms.ValidationError(self.error_messages["otp_missing_device"], code="otp_missing_device")
        token = (self.cleaned_data.get("otp_token") or "").strip().replace(" ", "")
        if not token:
            self._count_failure()
            raise forms.ValidationError(self.error_messages["otp_required"], code="otp_required")
        device = match_token(user, token)
        if device is None:
            self._count_failure()
            raise forms.ValidationError(self.error_messages["otp_invalid"], code="otp_invalid")
        # django_otp persists this device in the session when django.contrib.auth.login runs.
        user.otp_device = device

    def _count_failure(self) -> None:
        """A wrong or missing code counts as a failed login for the lockout, like a wrong password."""
        user_login_failed.send(
            sender=__name__,
            credentials={"username": self.cleaned_data.get("username", "")},
            request=self.request,
        )


class PlatformLoginForm(AdminLoginForm):
    require_second_factor_always = True


@dataclass(frozen=True)
class TotpEnrollment:
    device: TOTPDevice
    secret: str  # base32, what an authenticator app expects
    config_url: str


def totp_secret(device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode()


def start_totp_enrollment(user: Any) -> TotpEnrollment:
    """An unconfirmed TOTP device for the user (reused while they set up their app)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False, name=TOTP_DEVICE_NAME).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return TotpEnrollment(device=device, secret=totp_secret(device), config_url=device.config_url)


def confirm_totp_enrollment(user: Any, token: str) -> tuple[TOTPDevice, list[str]] | None:
    """Confirm the pending device with a code from the app; replaces older devices and returns
    fresh recovery codes. None (and nothing changed) when the code is wrong."""
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=False, name=TOTP_DEVICE_NAME)
            .first()
        )
        if device is None or not device.verify_token(token.strip().replace(" ", "")):
            return None
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = replace_recovery_codes(user)
    return device, codes


def provision_totp(user: Any, *, key: str | None = None) -> tuple[TOTPDevice, list[str]]:
    """Give a user a confirmed TOTP device and recovery codes directly (setup_totp command, demo)."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        device = TOTPDevice(user=user, name=TOTP_DEVICE_NAME, confirmed=True)
        if key:
            device.key = key
        device.save()
        codes = replace_recovery_codes(user)
    return device, codes


def replace_recovery_codes(user: Any) -> list[str]:
    """New single-use recovery codes; the old ones stop working."""
    with transaction.atomic():
        device, _created = StaticDevice.objects.get_or_create(
            user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": True}
        )
        device.token_set.all().delete()
        codes = [StaticToken.random_token() for _ in range(settings.ASKPRO_RECOVERY_CODES)]
        StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def disable_second_factor(user: Any) -> int:
    """Remove every OTP device of the user (lost phone); returns how many were removed."""
    count = 0
    for device in devices_for_user(user, confirmed=None):
        device.delete()
        count += 1
    return count


def unlock_login(*, username: str | None = None, ip_address: str | None = None) -> int:
    """Lift lockouts in the current schema: of a username, of an address, or of either (both
    given); returns the number of attempt records removed (0: nothing was recorded)."""
    username = (username or "").strip().lower() or None
    ip_address = (ip_address or "").strip() or None
    if not username and not ip_address:
        raise ValueError("unlock_login needs a username or an IP address")
    return int(axes_reset(ip=ip_address, username=username, ip_or_username=bool(username and ip_address)))


def locked_out_usernames() -> list[str]:
    return sorted(
        set(
            AccessAttempt.objects.filter(failures_since_start__gte=settings.AXES_FAILURE_LIMIT)
            .values_list("username", flat=True)
        )
    )


def is_operator_session(request: HttpRequest) -> bool:
    """A platform operator logged into the platform admin on the public host, second factor shown."""
    from django_tenants.utils import get_public_schema_name

    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.schema_name != get_public_schema_name():
        return False
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_active or not user.is_staff:
        return False
    if not (user.is_superuser or user.groups.filter(name="operator").exists()):
        return False
    return is_verified(user)


def has_bearer_token(request: HttpRequest, expected: str) -> bool:
    """``Authorization: Bearer <token>`` equal to a configured token (never true when unset)."""
    if not expected:
        return False
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected.encode())


def is_operator_request(request: HttpRequest, token: str) -> bool:
    """Operator session, or the operations bearer token (monitoring, load balancer probes)."""
    return has_bearer_token(request, token) or is_operator_session(request)
