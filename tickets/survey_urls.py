from django.urls import path

from tickets import survey_views

app_name = "survey"

# Public: outside the organization-scoped portal, no sign-in (the token is signed).
urlpatterns = [
    path("<str:token>/", survey_views.rate, name="rate"),
]
