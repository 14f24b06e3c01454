from django.urls import path

from . import views

app_name = "clients"

urlpatterns = [
    path("", views.client_list_view, name="client_list"),
    path("new/", views.client_create_view, name="client_create"),
    path("<int:pk>/", views.client_detail_view, name="client_detail"),
    path("<int:pk>/edit/", views.client_update_view, name="client_update"),
    path("rules/<int:pk>/edit/", views.scope_rule_edit_view, name="scope_rule_edit"),
    path("rules/<int:pk>/end/", views.scope_rule_end_view, name="scope_rule_end"),
    path("contracts/<int:pk>/rules/new/", views.scope_rule_create_view, name="scope_rule_create"),
    path(
        "contracts/<int:pk>/top-ups/new/",
        views.block_top_up_create_view,
        name="block_top_up_create",
    ),
    path("top-ups/<int:pk>/delete/", views.block_top_up_delete_view, name="block_top_up_delete"),
    path(
        "contracts/<int:pk>/sla-calendar/",
        views.contract_sla_calendar_view,
        name="contract_sla_calendar",
    ),
    path("request-types/", views.request_type_list_view, name="request_type_list"),
]
