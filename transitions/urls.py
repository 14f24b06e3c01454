"""Pages of the transitions layer, under /o/<org>/transitions/."""

from django.urls import path

from .views import briefs, handoffs, signals, work
from .views import review_pack as review_pack_views

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
    # Handoffs (transitions/views/handoffs.py).
    path("handoffs/", handoffs.handoff_list_view, name="handoff_list"),
    path("handoffs/new/", handoffs.handoff_create_view, name="handoff_create"),
    path("handoffs/<int:pk>/", handoffs.handoff_detail_view, name="handoff_detail"),
    path(
        "handoffs/<int:pk>/lines/<int:item>/assign/",
        handoffs.handoff_item_assign_view,
        name="handoff_item_assign",
    ),
    path(
        "handoffs/<int:pk>/assign-all/", handoffs.handoff_assign_all_view, name="handoff_assign_all"
    ),
    path(
        "handoffs/<int:pk>/acknowledge/",
        handoffs.handoff_acknowledge_view,
        name="handoff_acknowledge",
    ),
    path("handoffs/<int:pk>/relist/", handoffs.handoff_relist_view, name="handoff_relist"),
    path("handoffs/<int:pk>/complete/", handoffs.handoff_complete_view, name="handoff_complete"),
    path("handoffs/<int:pk>/cancel/", handoffs.handoff_cancel_view, name="handoff_cancel"),
    path("handoffs/<int:pk>/document/", handoffs.handoff_document_view, name="handoff_document"),
    path("handoffs/<int:pk>/document.md", handoffs.handoff_markdown_view, name="handoff_markdown"),
    # Signals (transitions/views/signals.py).
    path("context/", signals.undocumented_context_view, name="undocumented_context"),
    path("health/", signals.transition_health_view, name="transition_health"),
    # Review packs (transitions/views/review_pack.py).
    path("review-packs/", review_pack_views.review_packs_view, name="review_packs"),
    path(
        "review-packs/<int:pk>/",
        review_pack_views.review_pack_detail_view,
        name="review_pack_detail",
    ),
    path(
        "review-packs/<int:pk>/pdf/", review_pack_views.review_pack_pdf_view, name="review_pack_pdf"
    ),
    path(
        "clients/<int:pk>/review-packs/prepare/",
        review_pack_views.review_pack_prepare_view,
        name="review_pack_prepare",
    ),
]
