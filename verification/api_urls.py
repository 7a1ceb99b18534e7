from django.urls import path

from verification import api

urlpatterns = [
    path("calls/", api.CallStartView.as_view(), name="call-start"),
    path("calls/<int:call_id>/", api.CallDetailView.as_view(), name="call-detail"),
    path("calls/<int:call_id>/code/", api.CodeSendView.as_view(), name="call-code-send"),
    path("calls/<int:call_id>/check/", api.CodeCheckView.as_view(), name="call-code-check"),
    path("calls/<int:call_id>/end/", api.CallEndView.as_view(), name="call-end"),
]
