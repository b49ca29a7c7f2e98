from django.contrib.auth import views as auth_views
from django.urls import path

from diary import views

app_name = "diary"

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="diary/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("invitation/password/", views.invitation_password, name="invitation_password"),
    path("invitation/<str:token>/", views.invitation, name="invitation"),
]
