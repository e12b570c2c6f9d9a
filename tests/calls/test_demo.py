from __future__ import annotations

from django_tenants.utils import tenant_context

from appointments.models import Customer
from calls import demo
from calls.models import Call, CallbackRequest
from tenants.queries import tenant_for_voice_call


def test_the_demo_data_is_seeded_idempotently_and_routes_calls(salon, django_capture_on_commit_callbacks):
    with tenant_context(salon), django_capture_on_commit_callbacks(execute=True):
        demo.seed_tenant(salon)
        demo.seed_tenant(salon)
        counts = (Customer.objects.count(), Call.objects.count(), CallbackRequest.objects.count())
        statuses = sorted(Customer.objects.values_list("journey_status", flat=True))

    assert counts == (3, 3, 1)
    assert statuses == ["customer", "regular", "vip"]
    assert tenant_for_voice_call(to_number="+493012345678") == salon
