"""Pages of the transitions layer, under /o/<org>/transitions/."""

from django.urls import path

from .views import briefs, work

app_name = "transitions"

urlpatterns = [
    # A client's brief (transitions/views/briefs.py).
    path("clients/<int:pk>/brief/", briefs.client_brief_view, name="client_brief"),
    path("clients/<int:pk>/brief/edit/", briefs.client_brief_edit_view, name="client_brief_edit"),
    path(
        "clients/<int:pk>/brief/reviewed/",
        briefs.client_brief_reviewed_view,
        name="client_brief_reviewed",
    ),
    # Recurring work and risks (transitions/views/work.py).
    path("work/", work.work_list_view, name="work_list"),
    path("work/recurring/new/", work.recurring_task_create_view, name="recurring_task_create"),
    path(
        "work/recurring/<int:pk>/edit/", work.recurring_task_edit_view, name="recurring_task_edit"
    ),
    path(
        "work/recurring/<int:pk>/deactivate/",
        work.recurring_task_deactivate_view,
        name="recurring_task_deactivate",
    ),
    path("work/risks/new/", work.risk_create_view, name="risk_create"),
    path("work/risks/<int:pk>/edit/", work.risk_edit_view, name="risk_edit"),
    path("work/risks/<int:pk>/close/", work.risk_close_view, name="risk_close"),
]
