from __future__ import annotations

from django.urls import path

from portfolio import account_views

app_name = "sources"
urlpatterns = [
    path(
        "portfolios/<slug:slug>/exchange-accounts/new/",
        account_views.add_exchange_account,
        name="add_exchange_account",
    ),
    path(
        "exchange-accounts/<int:pk>/",
        account_views.edit_exchange_account,
        name="edit_exchange_account",
    ),
    path(
        "exchange-accounts/<int:pk>/settlement/",
        account_views.save_settlement,
        name="save_settlement",
    ),
    path(
        "exchange-accounts/<int:pk>/settlement/delete/",
        account_views.delete_settlement,
        name="delete_settlement",
    ),
]
