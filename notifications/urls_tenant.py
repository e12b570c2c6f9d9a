from django.urls import path

from notifications import webhooks

urlpatterns = [
    path("webhooks/twilio/status", webhooks.twilio_status, name="notifications-twilio-status"),
    path("webhooks/twilio/inbound", webhooks.twilio_inbound_tenant, name="notifications-twilio-inbound"),
]
