"""Trader endpoints: signed with a trader key; a key acts on its account and that account's subs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from solvent.service.access import TraderAccount
from solvent.service.errors import SIGNED_ERRORS
from solvent.service.models import CommandOut, LeverageIn, LoanIn, MarginIn, OrderIn, WithdrawIn, command
from solvent.service.venue import HISTORY_KINDS
from solvent.service.views import account_view

router = APIRouter(prefix="/api/v1/accounts", tags=["trader"], responses=SIGNED_ERRORS)

OrderId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:\-]{1,64}$")]
Limit = Annotated[int, Query(ge=1, le=1000)]


@router.post("/{account}/orders", response_model=CommandOut)
async def place_order(acting: TraderAccount, body: OrderIn) -> Response:
    """Place an order. With `client_order_id`, a retry returns the first result and books nothing."""
    order = command("order", body, account=acting.account)
    client_id = order.pop("client_order_id", None)
    if client_id is not None:
        order["id"] = client_id
    return await acting.service.run(order)


@router.get("/{account}")
async def get_account(acting: TraderAccount) -> dict[str, Any]:
    """Balances, positions with liquidation price, bankruptcy price and ADL quantile, open orders."""
    return account_view(acting.service.venue.engine, acting.account)


@router.get("/{account}/orders")
async def open_orders(acting: TraderAccount) -> list[dict[str, Any]]:
    engine = acting.service.venue.engine
    known = engine.accounts.get(acting.account)
    if known is None:
        return []
    futures = [engine._order_view(order) for order in sorted(known.orders.values(), key=lambda order: order.seq)]
    spot = [engine._spot_order_view(order) for order in sorted(known.spot_orders.values(), key=lambda order: order.seq)]
    return futures + spot


@router.delete("/{account}/orders", response_model=CommandOut)
async def cancel_all(acting: TraderAccount,
                     market: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_.:\-]{1,64}$")] = None) -> Response:
    """Cancel every open order of the account (in `market` if given), oldest first."""
    command_: dict[str, Any] = {"op": "cancel_all", "account": acting.account}
    if market is not None:
        command_["market"] = market
    return await acting.service.run(command_)


@router.delete("/{account}/orders/{order_id}", response_model=CommandOut)
async def cancel_order(acting: TraderAccount, order_id: OrderId) -> Response:
    return await acting.service.run({"op": "cancel", "account": acting.account, "id": order_id})


@router.post("/{account}/leverage", response_model=CommandOut)
async def set_leverage(acting: TraderAccount, body: LeverageIn) -> Response:
    """Leverage and margin mode of a market."""
    return await acting.service.run(command("leverage", body, account=acting.account))


@router.post("/{account}/margin", response_model=CommandOut)
async def isolated_margin(acting: TraderAccount, body: MarginIn) -> Response:
    """Add (positive) or remove (negative) isolated margin of a position."""
    return await acting.service.run(command("margin", body, account=acting.account))


@router.post("/{account}/borrow", response_model=CommandOut)
async def borrow(acting: TraderAccount, body: LoanIn) -> Response:
    return await acting.service.run(command("borrow", body, account=acting.account))


@router.post("/{account}/repay", response_model=CommandOut)
async def repay(acting: TraderAccount, body: LoanIn) -> Response:
    return await acting.service.run(command("repay", body, account=acting.account))


@router.post("/{account}/withdrawals", response_model=CommandOut)
async def withdraw(acting: TraderAccount, body: WithdrawIn) -> Response:
    return await acting.service.run(command("withdraw", body, account=acting.account))


def _history(kind: str) -> Any:
    async def history(acting: TraderAccount, limit: Limit = 100,
                      before_seq: Annotated[int | None, Query(ge=1)] = None) -> list[dict[str, Any]]:
        events = acting.service.venue.history_of(acting.account, kind)
        if before_seq is not None:
            events = [event for event in events if event["seq"] < before_seq]
        return events[-limit:]

    history.__name__ = f"{kind}_history"
    history.__doc__ = f"The account's own {kind.replace('_', ' ')} events, oldest first (the last `limit`)."
    return history


for _kind in HISTORY_KINDS:
    router.add_api_route(f"/{{account}}/{_kind.replace('_', '-')}", _history(_kind), methods=["GET"],
                         name=f"{_kind}_history", response_model=list[dict[str, Any]])
