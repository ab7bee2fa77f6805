"""Who may do what: named permissions and the roles that hold them.

Routes ask for a permission, never for a role, so that new roles (or per-user grants) change
this table only.
"""

from __future__ import annotations

from enum import StrEnum

from storeops.common.errors import StoreopsError


class Permission(StrEnum):
    KPI_VIEW = "kpi.view"
    SKU_VIEW = "sku.view"
    IMPORT_RUN = "import.run"
    TARGET_EDIT = "target.edit"
    USER_MANAGE = "user.manage"
    ORDER_VIEW = "order.view"  # orders, their timeline, the SLA board (no cockpit figures)
    ORDER_MANAGE = "order.manage"  # review, hold, merge, split, ship, cancel
    ORDER_CREATE = "order.create"  # POST /api/v1/orders (the store's own channel)
    STOCK_VIEW = "stock.view"
    STOCK_MANAGE = "stock.manage"  # receive, adjust, count, transfer; flash sales
    CONNECTOR_MANAGE = "connector.manage"  # JD credentials, syncs
    PROMO_VIEW = "promo.view"  # promotions, calendar, 破价 audit, 价保, results
    PROMO_MANAGE = "promo.manage"  # create, edit, import, schedule, cancel; price changes
    PROMO_APPROVE = "promo.approve"  # approve a launch that breaks a floor (not one's own)
    ALERT_VIEW = "alert.view"  # alerts, their rules and history, the inbox, reports
    ALERT_MANAGE = "alert.manage"  # acknowledge, assign, resolve; edit rules and channels


class Role(StrEnum):
    OWNER = "owner"  # everything
    OPERATOR = "operator"  # view, import, set targets
    ANALYST = "analyst"  # view only
    # Scripts of the store's own channel: create orders, read stock; no cockpit money figures.
    INTEGRATION = "integration"


_VIEW = frozenset({Permission.KPI_VIEW, Permission.SKU_VIEW})

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(Permission),
    Role.OPERATOR: _VIEW | {
        Permission.IMPORT_RUN, Permission.TARGET_EDIT, Permission.ORDER_VIEW,
        Permission.ORDER_MANAGE, Permission.STOCK_VIEW, Permission.STOCK_MANAGE,
        Permission.PROMO_VIEW, Permission.PROMO_MANAGE, Permission.ALERT_VIEW,
        Permission.ALERT_MANAGE,
    },
    Role.ANALYST: _VIEW | {Permission.ORDER_VIEW, Permission.STOCK_VIEW, Permission.PROMO_VIEW,
                           Permission.ALERT_VIEW},
    Role.INTEGRATION: frozenset({Permission.ORDER_CREATE, Permission.STOCK_VIEW}),
}


class UnknownRole(StoreopsError, ValueError):
    pass


def parse_role(text: str) -> Role:
    try:
        return Role(text.strip().lower())
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise UnknownRole(f"unknown role {text!r}: choose one of {choices}",
                          key="user.unknown_role", role=text, choices=choices) from None


def has_permission(role: str, permission: Permission) -> bool:
    """Whether a user with ``role`` may do ``permission``; an unknown role may do nothing."""
    try:
        return permission in ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return False
