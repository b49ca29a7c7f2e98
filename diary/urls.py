from django.contrib.auth import views as auth_views
from django.urls import path

from diary import views, views_entry, views_periods
from diary.forms import LoginForm

app_name = "diary"

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="diary/login.html",
            authentication_form=LoginForm,
            redirect_authenticated_user=True,
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/forgotten/", views.password_forgotten, name="password_forgotten"),
    path("language/", views.language, name="language"),
    path("invitation/password/", views.invitation_password, name="invitation_password"),
    path("invitation/<str:token>/", views.invitation, name="invitation"),
    path("period/start/", views_periods.period_start, name="period_start"),
    path("period/<int:pk>/end/", views_periods.period_end, name="period_end"),
    path("period/<int:pk>/correct/", views_periods.period_correction, name="period_correct"),
    path("questionnaire/<int:pk>/", views_entry.questionnaire, name="questionnaire"),
    path(
        "questionnaire/<int:pk>/page/<int:number>/",
        views_entry.questionnaire_page,
        name="questionnaire_page",
    ),
    path(
        "questionnaire/<int:pk>/review/",
        views_entry.questionnaire_review,
        name="questionnaire_review",
    ),
    path("questionnaire/<int:pk>/done/", views_entry.questionnaire_done, name="questionnaire_done"),
]
