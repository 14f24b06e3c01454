from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from billing.urls import public_urlpatterns as billing_public_urlpatterns
from msops.tenancy import views as tenancy_views
from msops.tenancy.team_views import invitation_accept_view

# Every tenant page lives under /o/<org>/: OrganizationMiddleware resolves the
# organization from that prefix and runs the request inside its scope.
tenant_patterns = [
    path("", include("msops.tenancy.urls")),
    path("clients/", include("clients.urls")),
    path("tickets/", include("tickets.urls")),
    path("billing/", include("billing.urls")),
    path("transitions/", include("transitions.urls")),
]

urlpatterns = [
    path("", tenancy_views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("o/<slug:org>/", include(tenant_patterns)),
    # The client's signed, single-use approval link: no login, no organization URL.
    path("client/", include((billing_public_urlpatterns, "public"))),
    # An invitation's signed, single-use link: no login, no organization URL.
    path("invitations/<str:token>/", invitation_accept_view, name="invitation_accept"),
    path("api/v1/", include(("msops.api_urls", "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api_schema"), name="api_docs"),
    path("admin/", admin.site.urls),
]

# Django's error pages; on /api/ paths (an unknown API URL never reaches DRF)
# they answer JSON in the API's one error format.
handler400 = "msops.tenancy.api.exceptions.bad_request"
handler403 = "msops.tenancy.api.exceptions.permission_denied"
handler404 = "msops.tenancy.api.exceptions.page_not_found"
handler500 = "msops.tenancy.api.exceptions.server_error"
