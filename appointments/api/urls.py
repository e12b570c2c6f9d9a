from django.urls import path

from appointments.api import views

urlpatterns = [
    path("api/v2/availability/simple", views.SimpleAvailabilityView.as_view(), name="availability-simple"),
    path("api/v2/availability/composite", views.CompositeAvailabilityView.as_view(), name="availability-composite"),
    path("api/v2/bookings", views.BookingsView.as_view(), name="bookings"),
    path("api/v2/bookings/<int:pk>", views.BookingDetailView.as_view(), name="booking-detail"),
    path("api/v2/bookings/<int:pk>/reschedule", views.RescheduleView.as_view(), name="booking-reschedule"),
    path("api/v2/bookings/<int:pk>/ics", views.BookingIcsView.as_view(), name="booking-ics"),
]
