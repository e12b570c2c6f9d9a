"""Voice-agent endpoints on the platform host: one URL for every tenant, routed by the call's
agent_id / to_number through the public registry (tenants.PhoneNumber, tenants.VoiceAgent)."""

from django.urls import path

from calls import views

urlpatterns = [
    path("api/retell/check-customer", views.check_customer, name="retell-check-customer"),
    path("api/retell/request-callback", views.request_callback, name="retell-request-callback"),
    path("api/retell/check-availability", views.check_availability, name="retell-check-availability"),
    path("api/retell/collect-appointment", views.collect_appointment, name="retell-collect-appointment"),
    path("api/retell/book-appointment", views.book_appointment, name="retell-book-appointment"),
    path("api/retell/reschedule-appointment", views.reschedule_appointment, name="retell-reschedule-appointment"),
    path("api/retell/cancel-appointment", views.cancel_appointment, name="retell-cancel-appointment"),
    path("api/retell/list-appointments", views.list_appointments, name="retell-list-appointments"),
    path("webhooks/retell/inbound", views.inbound_call, name="retell-inbound"),
]
