"""Voice-agent endpoints on the platform host: one URL for every tenant, routed by the call's
agent_id / to_number through the public registry (tenants.PhoneNumber, tenants.VoiceAgent)."""

from django.urls import path

from calls import views

urlpatterns = [
    path("api/retell/check-customer", views.check_customer, name="retell-check-customer"),
    path("api/retell/request-callback", views.request_callback, name="retell-request-callback"),
    path("webhooks/retell/inbound", views.inbound_call, name="retell-inbound"),
]
