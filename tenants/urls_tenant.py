from django.urls import path

from tenants import views

urlpatterns = [
    path("api/diagnostics/task-probe", views.start_task_probe, name="task-probe"),
    path("api/diagnostics/task-probe/<str:probe_id>", views.task_probe_result, name="task-probe-result"),
]
