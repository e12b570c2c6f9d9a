from django.urls import include, path

urlpatterns = [
    path("", include("appointments.api.urls")),
]
