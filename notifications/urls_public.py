from django.urls import path

from notifications import webhooks

urlpatterns = [
    path("webhooks/twilio/inbound", webhooks.twilio_inbound_platform, name="notifications-twilio-inbound-platform"),
]
