"""Voice-agent endpoints on a tenant host (the tenant comes from the host)."""

from django.urls import path

from calls import views

urlpatterns = [
    path("api/retell/check-customer", views.check_customer, name="retell-check-customer"),
    path("api/retell/request-callback", views.request_callback, name="retell-request-callback"),
    path("webhooks/retell/inbound", views.inbound_call, name="retell-inbound"),
]
