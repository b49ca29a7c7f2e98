from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from diary.views import (
    accounts,
    history,
    home,
    login,
    offline,
    periods,
    questionnaire,
    reminders,
)

app_name = "diary"

urlpatterns = [
    path("", home.home, name="home"),
    path("login/", login.DiaryLoginView.as_view(), name="login"),
    path(
        "logout/",
        auth_views.LogoutView.as_view(next_page=reverse_lazy("diary:logged_out")),
        name="logout",
    ),
    path("logged-out/", offline.logged_out, name="logged_out"),
    path("password/forgotten/", accounts.password_forgotten, name="password_forgotten"),
    path("language/", accounts.language, name="language"),
    path("invitation/password/", accounts.invitation_password, name="invitation_password"),
    path("invitation/<str:token>/", accounts.invitation, name="invitation"),
    path("reminders/", reminders.reminder_preferences, name="reminder_preferences"),
    path("push/subscribe/", reminders.push_subscribe, name="push_subscribe"),
    path("push/unsubscribe/", reminders.push_unsubscribe, name="push_unsubscribe"),
    path("period/start/", periods.period_start, name="period_start"),
    path("period/closing/", periods.period_closing, name="period_closing"),
    path("period/<int:pk>/end/", periods.period_end, name="period_end"),
    path("period/<int:pk>/correct/", periods.period_correction, name="period_correct"),
    path("questionnaire/<int:pk>/", questionnaire.questionnaire, name="questionnaire"),
    path(
        "questionnaire/<int:pk>/page/<int:number>/",
        questionnaire.questionnaire_page,
        name="questionnaire_page",
    ),
    path(
        "questionnaire/<int:pk>/review/",
        questionnaire.questionnaire_review,
        name="questionnaire_review",
    ),
    path(
        "questionnaire/<int:pk>/done/", questionnaire.questionnaire_done, name="questionnaire_done"
    ),
    path("answers/<int:pk>/", history.history, name="history"),
    path(
        "answers/response/<int:response_id>/<slug:item_key>/wrong/",
        history.change_request,
        name="change_request",
    ),
]
