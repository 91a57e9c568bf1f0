from django.urls import include, path

from onboarding import views

app_name = "onboarding"

draft_urls = [
    path("", views.resume, name="resume"),
    path("account/", views.account, name="account"),
    path("account/status/", views.account_status, name="account-status"),
    path("account/connect/", views.connect, name="connect"),
    path("resources/", views.resources, name="resources"),
    path("explore/", views.explore, name="explore"),
    path("explore/status/", views.explore_status, name="explore-status"),
    path("dataset/", views.dataset, name="dataset"),
    path("dataset/refresh/", views.dataset_refresh, name="dataset-refresh"),
    path("dataset/status/", views.dataset_status, name="dataset-status"),
    path("mapping/", views.mapping_start, name="mapping"),
    path("mapping/<slug:resource>/", views.mapping_resource, name="mapping-resource"),
    path("mapping/<slug:resource>/status/", views.mapping_status, name="mapping-status"),
    path("mapping/<slug:resource>/import/", views.mapping_import, name="mapping-import"),
    path("mapping/<slug:resource>/export.csv", views.mapping_export, name="mapping-export"),
    path("schedule/", views.schedule, name="schedule"),
    path("schedule/status/", views.schedule_status, name="schedule-status"),
    path("review/", views.review, name="review"),
    path("provisioning/", views.progress, name="provisioning"),
    path("provisioning/status/", views.progress_status, name="provisioning-status"),
    path("provisioning/retry/", views.retry, name="retry"),
    path("discard/", views.discard, name="discard"),
    path("share/", views.share, name="share"),
    path("done/", views.done, name="done"),
]

urlpatterns = [
    path("", views.drafts, name="drafts"),
    path("new/", views.start, name="start"),
    path("<uuid:pk>/", include(draft_urls)),
]
