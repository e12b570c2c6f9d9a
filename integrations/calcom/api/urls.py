from django.urls import path

from integrations.calcom.api import views

urlpatterns = [
    path("api/v2/calcom/push-event-types", views.PushEventTypesView.as_view(), name="calcom-push-event-types"),
    path("api/v2/calcom/detect-drift", views.DetectDriftView.as_view(), name="calcom-detect-drift"),
    path("api/v2/calcom/auto-resolve", views.AutoResolveView.as_view(), name="calcom-auto-resolve"),
]
