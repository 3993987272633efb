from django.urls import path

from haven.accounts import key_views, views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login, name="login"),
    path("verify/", views.verify, name="verify"),
    path("enrol/", views.enrol, name="enrol"),
    path("enrol/qr.svg", views.enrol_qr, name="enrol_qr"),
    path("logout/", views.logout, name="logout"),
    path("reauth/", views.reauth, name="reauth"),
    path("", views.account, name="account"),
    path("sessions/end-others/", views.sessions_end_others, name="sessions_end_others"),
    path("password/", views.password_change, name="password_change"),
    path("recovery-codes/", views.recovery_codes, name="recovery_codes"),
    path("tokens/", views.token_create, name="token_create"),
    path("tokens/<uuid:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("tokens/<uuid:token_id>/approve/", views.token_approve, name="token_approve"),
    path("keys/", key_views.keys, name="keys"),
    path("keys/<int:key_id>/remove/", key_views.key_remove, name="key_remove"),
    path("keys/register/begin/", key_views.register_begin, name="key_register_begin"),
    path("keys/register/complete/", key_views.register_complete, name="key_register_complete"),
    path("keys/assert/begin/", key_views.assert_begin, name="key_assert_begin"),
    path("keys/assert/complete/", key_views.assert_complete, name="key_assert_complete"),
    path("keys/jsi18n/", key_views.js_catalog, name="key_js_catalog"),
    path("staff/", views.staff_list, name="staff_list"),
    path("users/", views.user_list, name="user_list"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/<uuid:user_id>/<slug:action>/", views.user_action, name="user_action"),
]
