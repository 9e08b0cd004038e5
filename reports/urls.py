"""Pages of the daily report."""

from django.urls import path

from reports import views

app_name = "reports"
urlpatterns = [
    path("reports/", views.report_latest, name="latest"),
    path("reports/build-so-far/", views.report_build_so_far, name="build-so-far"),
    path("reports/<str:day>/", views.report_detail, name="detail"),
]
