from django.urls import path

from monitoring import views

app_name = "monitoring"

urlpatterns = [
    path("sandboxes/", views.sandbox_list, name="sandbox-list"),
    path("sandboxes/new/", views.sandbox_create, name="sandbox-create"),
    path("sandboxes/<int:pk>/", views.sandbox_detail, name="sandbox-detail"),
    path("sandboxes/<int:pk>/test/", views.sandbox_test, name="sandbox-test"),
]
