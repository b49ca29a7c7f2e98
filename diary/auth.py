"""Participants log in with their study id or their e-mail address.

The identifier is resolved to the account's username before the password is checked, and the
same resolution names the account for django-axes (AXES_USERNAME_CALLABLE), so failures count
against one account whichever identifier was typed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest

from diary.models import Participant, ParticipantContact


def user_for_identifier(identifier: str) -> AbstractBaseUser | None:
    """The user a study id, e-mail address or username names, or None when unknown or ambiguous."""
    identifier = (identifier or "").strip()
    if not identifier:
        return None
    User = get_user_model()
    if "@" in identifier:
        contacts = list(
            ParticipantContact.objects.filter(email__iexact=identifier)
            .select_related("participant__user")
            .filter(participant__user__isnull=False)[:2]
        )
        if len(contacts) == 1:
            return contacts[0].participant.user
        if contacts:
            return None  # The same address at two participants: refuse rather than guess.
        users = list(User.objects.filter(email__iexact=identifier)[:2])
        return users[0] if len(users) == 1 else None
    user = User.objects.filter(username__iexact=identifier).first()
    if user is not None:
        return user
    participants = list(
        Participant.objects.filter(
            subject_id__iexact=identifier, user__isnull=False
        ).select_related("user")[:2]
    )
    return participants[0].user if len(participants) == 1 else None


def is_participant_account(user: AbstractBaseUser | None) -> bool:
    """A participant's own login: linked to a participant record and no staff flag.

    Only these log in at the diary's login page; staff log in at the admin's, where their
    second factor is asked for (config.admin_site).
    """
    return (
        user is not None
        and user.pk is not None
        and not getattr(user, "is_staff", False)
        and not getattr(user, "is_superuser", False)
        and Participant.objects.filter(user=user).exists()
    )


def is_linked_to_participant(user: AbstractBaseUser | None) -> bool:
    """Whether the account is a participant's login, whatever flags it was given since."""
    return (
        user is not None
        and user.pk is not None
        and Participant.objects.filter(user=user).exists()
    )


_password_by_link: ContextVar[bool] = ContextVar("password_by_link", default=False)


@contextmanager
def password_set_by_link() -> Iterator[None]:
    """Marks the one way a participant's password is set: by her, with her invitation or reset
    link (diary.views.accounts, diary.services.invitations). diary.passwords refuses any other."""
    token = _password_by_link.set(True)
    try:
        yield
    finally:
        _password_by_link.reset(token)


def password_is_set_by_link() -> bool:
    return _password_by_link.get()


AXES_USERNAME_MAX_LENGTH = 255


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The account name axes counts failures against (AXES_USERNAME_CALLABLE)."""
    typed = ""
    if credentials:
        typed = credentials.get("username", "")
    elif request is not None and request.method == "POST":
        typed = request.POST.get("username", "")
    user = user_for_identifier(typed)
    if user is not None:
        return user.get_username()
    # django-axes stores this name in a 255-character column, and lowercasing can lengthen a
    # string the login form let through ("İ" becomes two characters): cut it to fit.
    return typed.strip().lower()[:AXES_USERNAME_MAX_LENGTH]


class StudyIdOrEmailBackend(ModelBackend):
    """ModelBackend that also accepts a participant's study id or e-mail address."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> AbstractBaseUser | None:
        if username is None or password is None:
            return None
        user = user_for_identifier(username)
        if user is None:
            # Same cost as a real check, so timing does not tell whether the account exists.
            get_user_model()().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id: Any) -> AbstractBaseUser | None:
        """The session's user, her participant record and study read in the same query.

        Every diary page needs the participant (language, time zone, access checks) and most
        need her study; staff accounts get an empty outer join.
        """
        try:
            user = (
                get_user_model()
                ._default_manager.select_related("participant__study")
                .get(pk=user_id)
            )
        except get_user_model().DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
