from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from alerts.api import router as alerts_api
from alerts.views import status as status_views
from alerts.views.favicon import favicon
from confops.common.api import api, login_exempt_urls
from confops.runtime import metrics_view, views
from monitoring.api import router as monitoring_api
from reports.api import router as reports_api

# Each app's API router joins the one API here: /api/v1/<its paths>.
api.add_router("", monitoring_api)
api.add_router("", alerts_api)
api.add_router("", reports_api)

urlpatterns = [
    path("", status_views.status, name="home"),
    path("health", views.liveness, name="health"),
    path("health/ready", views.readiness, name="health-ready"),
    path("health/detailed", views.detailed, name="health-detailed"),
    path("metrics", metrics_view.metrics, name="metrics"),
    path("favicon.ico", favicon, name="favicon"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("alerts.urls")),
    path("", include("reports.urls")),
    path("api/v1/", login_exempt_urls()),
    path("integrations/", include("alerts.inbound.urls")),
]
