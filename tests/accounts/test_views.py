from __future__ import annotations

from django.test import Client
from django.urls import reverse

from tests.conftest import login
from tests.factories import PASSWORD


def test_anonymous_home_redirects_to_login(db):
    response = Client().get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_login_with_right_password_reaches_home(tenants):
    client = Client()
    response = client.post(
        reverse("accounts:login"), {"username": "bob", "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("home")
    assert "Your holdings" in response.content.decode()


def test_login_with_wrong_password_is_refused(tenants):
    response = Client().post(reverse("accounts:login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_logout_ends_the_session(tenants):
    client = login(tenants.alice)
    client.post(reverse("accounts:logout"))
    assert client.get(reverse("home")).status_code == 302


def test_home_page_is_per_role(tenants):
    assert "Administration" in login(tenants.ada).get(reverse("home")).content.decode()
    manager_page = login(tenants.alice).get(reverse("home")).content.decode()
    assert "Your portfolios" in manager_page and "Fund A" in manager_page
    assert "Fund B" not in manager_page
    investor_page = login(tenants.bob).get(reverse("home")).content.decode()
    assert "Your holdings" in investor_page and "Fund A" in investor_page
    assert "Fund B" not in investor_page


def test_only_admins_get_the_django_admin(tenants):
    assert login(tenants.ada).get(reverse("admin:index")).status_code == 200
    for user in (tenants.alice, tenants.bob):
        response = login(user).get(reverse("admin:index"))
        assert response.status_code == 302  # to the admin login: not staff
