"""Trader endpoints: signed with a trader key; a key acts on its account and that account's subs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from solvent.service.access import OwnAccount, ServiceDep
from solvent.service.errors import SIGNED_ERRORS
from solvent.service.models import CommandOut, LeverageIn, LoanIn, MarginIn, OrderIn, WithdrawIn, command
from solvent.service.venue import HISTORY_KINDS
from solvent.service.views import account_view

router = APIRouter(prefix="/api/v1/accounts", tags=["trader"], responses=SIGNED_ERRORS)

OrderId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:\-]{1,64}$")]
Limit = Annotated[int, Query(ge=1, le=1000)]


@router.get("/{account}")
async def get_account(account: OwnAccount, service: ServiceDep) -> dict[str, Any]:
    """Balances, positions with liquidation price, bankruptcy price and ADL quantile, open orders."""
    return account_view(service.venue.engine, account)


@router.post("/{account}/orders")
async def place_order(account: OwnAccount, body: OrderIn, service: ServiceDep) -> CommandOut:
    """Place an order. With `client_order_id`, a retry returns the first result and books nothing."""
    extra: dict[str, Any] = {"account": account}
    order = command("order", body, **extra)
    client_id = order.pop("client_order_id", None)
    if client_id is not None:
        order["id"] = client_id
    return await service.run(order)


@router.get("/{account}/orders")
async def open_orders(account: OwnAccount, service: ServiceDep) -> list[dict[str, Any]]:
    engine = service.venue.engine
    known = engine.accounts.get(account)
    orders = [] if known is None else sorted(known.orders.values(), key=lambda order: order.seq)
    return [engine._order_view(order) for order in orders]


@router.delete("/{account}/orders/{order_id}")
async def cancel_order(account: OwnAccount, order_id: OrderId, service: ServiceDep) -> CommandOut:
    return await service.run({"op": "cancel", "account": account, "id": order_id})


@router.post("/{account}/leverage")
async def set_leverage(account: OwnAccount, body: LeverageIn, service: ServiceDep) -> CommandOut:
    """Leverage and margin mode of a market."""
    return await service.run(command("leverage", body, account=account))


@router.post("/{account}/margin")
async def isolated_margin(account: OwnAccount, body: MarginIn, service: ServiceDep) -> CommandOut:
    """Add (positive) or remove (negative) isolated margin of a position."""
    return await service.run(command("margin", body, account=account))


@router.post("/{account}/borrow")
async def borrow(account: OwnAccount, body: LoanIn, service: ServiceDep) -> CommandOut:
    return await service.run(command("borrow", body, account=account))


@router.post("/{account}/repay")
async def repay(account: OwnAccount, body: LoanIn, service: ServiceDep) -> CommandOut:
    return await service.run(command("repay", body, account=account))


@router.post("/{account}/withdrawals")
async def withdraw(account: OwnAccount, body: WithdrawIn, service: ServiceDep) -> CommandOut:
    return await service.run(command("withdraw", body, account=account))


def _history(kind: str) -> Any:
    async def history(account: OwnAccount, service: ServiceDep, limit: Limit = 100,
                      before_seq: Annotated[int | None, Query(ge=1)] = None) -> list[dict[str, Any]]:
        events = service.venue.history_of(account, kind)
        if before_seq is not None:
            events = [event for event in events if event["seq"] < before_seq]
        return events[-limit:]

    history.__name__ = f"{kind}_history"
    history.__doc__ = f"The account's own {kind.replace('_', ' ')} events, oldest first (the last `limit`)."
    return history


for _kind in HISTORY_KINDS:
    router.add_api_route(f"/{{account}}/{_kind.replace('_', '-')}", _history(_kind), methods=["GET"],
                         name=f"{_kind}_history", response_model=list[dict[str, Any]])
