from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from confops import views
from confops.api import api, login_exempt_urls
from monitoring import views as monitoring_views
from monitoring.api import router as monitoring_api

# Each app's API router joins the one API here: /api/v1/<its paths>.
api.add_router("", monitoring_api)

urlpatterns = [
    path("", monitoring_views.status, name="home"),
    path("health", views.liveness, name="health"),
    path("health/ready", views.readiness, name="health-ready"),
    path("health/detailed", views.detailed, name="health-detailed"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("monitoring.urls")),
    path("", include("alerts.urls")),
    path("api/v1/", login_exempt_urls()),
]
