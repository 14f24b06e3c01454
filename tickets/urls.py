from django.urls import path

from . import views
from .views_sla import sla_report_csv, sla_report_page

app_name = "tickets"

# Included under /o/<slug:org>/tickets/: every view receives ``org`` first.
urlpatterns = [
    path("", views.ticket_list, name="ticket_list"),
    path("new/", views.ticket_create, name="ticket_create"),
    path("sla/", sla_report_page, name="sla_report"),
    path("sla/csv/", sla_report_csv, name="sla_report_csv"),
    # A ticket's page is addressed by the number people say ("#66"); links
    # by database id (as earlier pages and emails made them) redirect there.
    path("<int:number>/", views.ticket_detail, name="ticket_detail"),
    path("id/<int:pk>/", views.ticket_by_id, name="ticket_by_id"),
    path("<int:pk>/time/", views.ticket_log_time, name="ticket_log_time"),
    path("<int:pk>/update/", views.ticket_update, name="ticket_update"),
    path("time-entries/<int:pk>/delete/", views.time_entry_delete, name="time_entry_delete"),
]
