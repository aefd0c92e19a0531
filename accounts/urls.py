from __future__ import annotations

from django.urls import path

from . import org_views, security_views, views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("mfa/", views.mfa_verify, name="mfa_verify"),
    path("mfa/enrol/", views.mfa_enrol, name="mfa_enrol"),
    path("security/", security_views.security, name="security"),
    path("security/keys/<str:key_id>/rename/", security_views.key_rename, name="key_rename"),
    path("security/keys/<str:key_id>/remove/", security_views.key_remove, name="key_remove"),
    path("verify/", security_views.step_up, name="step_up"),
    path("password/change/", views.PasswordChangeView.as_view(), name="password_change"),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("password/reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("password/reset/complete/", views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    # Organisation admin
    path("org/", org_views.members, name="org_members"),
    path("org/members/new/", org_views.member_create, name="org_member_create"),
    path("org/members/<uuid:code>/", org_views.member_detail, name="org_member"),
    path("org/members/<uuid:code>/clearance/", org_views.clearance_grant, name="org_clearance_grant"),
    path("org/members/<uuid:code>/read-in/", org_views.readin_grant, name="org_readin_grant"),
    path("org/members/<uuid:code>/roles/grant/", org_views.role_grant, name="org_role_grant"),
    path("org/members/<uuid:code>/roles/revoke/", org_views.role_revoke, name="org_role_revoke"),
    path("org/members/<uuid:code>/mfa-reset/", org_views.mfa_reset, name="org_mfa_reset"),
    path("org/members/<uuid:code>/sessions/end/", org_views.member_sessions_end, name="org_member_sessions_end"),
    path("org/members/<uuid:code>/deactivate/", org_views.member_deactivate, name="org_member_deactivate"),
    path("org/clearances/<uuid:code>/approve/", org_views.clearance_approve, name="org_clearance_approve"),
    path("org/clearances/<uuid:code>/refuse/", org_views.clearance_refuse, name="org_clearance_refuse"),
    path("org/clearances/<uuid:code>/revoke/", org_views.clearance_revoke, name="org_clearance_revoke"),
    path("org/clearances/<uuid:code>/renew/", org_views.clearance_renew, name="org_clearance_renew"),
    path("org/read-ins/<uuid:code>/revoke/", org_views.readin_revoke, name="org_readin_revoke"),
    path("org/nominations/", org_views.nominations, name="org_nominations"),
    path("org/nominations/<uuid:code>/approve/", org_views.nomination_approve, name="org_nomination_approve"),
    path("org/nominations/<uuid:code>/decline/", org_views.nomination_decline, name="org_nomination_decline"),
]
