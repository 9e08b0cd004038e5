"""Pages about what is observed. The status page itself is the site's root (``home``, in
``confops/urls.py``); this namespace holds the rest."""

from django.urls import path

from monitoring import views

app_name = "monitoring"
urlpatterns = [
    path("sources/<slug:slug>/", views.source_detail, name="source"),
]
