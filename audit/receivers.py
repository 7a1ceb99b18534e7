"""Sign-ins, sign-outs, failed sign-ins and password changes in the audit trail (issue 17).

Django announces these with its own signals, from every way in (the sign-in page, the
admin's, a password reset, the admin's password form); there
is no service of ours to write the row explicitly, so they are recorded here. Never the
password: a failed sign-in keeps only the name that was typed, normalised. What happens
outside any request (``manage.py changepassword``, a data seed) is not recorded.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save
from django.http import HttpRequest

from audit import context, services
from audit.actions import Action, Channel

# The longest name kept from a failed sign-in: anything longer is not an address.
USERNAME_MAX = 200


def _only_organization(user: Any) -> int | None:
    """The organization a customer belongs to, when exactly one: their tenant's global
    admins then see their sign-ins. Staff and members of several organizations: none."""
    memberships = getattr(user, "memberships", None)
    if memberships is None:
        return None
    ids = list(memberships.values_list("organization_id", flat=True)[:2])
    return ids[0] if len(ids) == 1 else None


def _outside_requests() -> bool:
    """Signed in, out or given a password by no request (a script, a data seed, a test
    client's force_login): not a person's doing through any channel, so not recorded."""
    return context.origin().channel == Channel.SYSTEM


def signed_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if _outside_requests():
        return
    # A way in other than the password names itself on the user it signs in (staff single
    # sign-on, supportdesk.sso), so that one sign-in stays one row.
    services.record(
        action=getattr(user, "audit_sign_in_action", Action.SIGNIN),
        actor=user,
        organization=_only_organization(user),
        target=user,
        after=getattr(user, "audit_sign_in_details", None),
    )


def signed_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is None or _outside_requests():  # nobody was signed in
        return
    services.record(
        action=Action.SIGNOUT, actor=user, organization=_only_organization(user), target=user
    )


def sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    if _outside_requests():
        return
    # Django has already replaced the password with stars; only the name is read anyway.
    typed = credentials.get("username") or credentials.get("email") or ""
    name = " ".join(str(typed).split()).lower()[:USERNAME_MAX]
    services.record(action=Action.SIGNIN_FAILED, actor_label=name, target_label=name)


def password_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    # set_password() leaves the new password in _password until save() has told the
    # validators; a save without it did not change the password.
    if created or getattr(instance, "_password", None) is None:
        return
    if _outside_requests():
        return
    actor = context.acting_user() or instance
    services.record(
        action=Action.PASSWORD_CHANGED,
        actor=actor,
        organization=_only_organization(instance),
        target=instance,
        target_label=str(getattr(instance, "email", "") or instance),
    )


def connect() -> None:
    user_logged_in.connect(signed_in, dispatch_uid="audit.signed_in")
    user_logged_out.connect(signed_out, dispatch_uid="audit.signed_out")
    user_login_failed.connect(sign_in_failed, dispatch_uid="audit.sign_in_failed")
    post_save.connect(
        password_saved, sender=settings.AUTH_USER_MODEL, dispatch_uid="audit.password_saved"
    )
