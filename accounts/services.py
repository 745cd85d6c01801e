"""Writes on users: roles decide Django admin access, so they are set in one place."""

from __future__ import annotations

from accounts.models import Role, User


def apply_role(user: User) -> None:
    """Admins get the Django admin; nobody else does, whatever flags were set by hand."""
    user.is_staff = user.role == Role.ADMIN
    user.is_superuser = user.role == Role.ADMIN


def create_user(*, username: str, password: str, role: str, email: str = "") -> User:
    user = User(username=username, email=email, role=role)
    user.set_password(password)
    apply_role(user)
    user.full_clean()
    user.save()
    return user
