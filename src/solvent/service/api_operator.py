"""Operator endpoints: signed with an operator key; every change is a journaled command."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from solvent.service import auth
from solvent.service.access import Operator
from solvent.service.errors import SIGNED_ERRORS, ApiError
from solvent.service.models import (
    AccountIn,
    ApiKeyIn,
    ApiKeyOut,
    AssetIn,
    CommandOut,
    DepositIn,
    FundIn,
    FundingIn,
    FundInjectionIn,
    IndexPriceIn,
    MarketIn,
    MarkPriceIn,
    PolicyIn,
    ReviewIn,
    command,
)

router = APIRouter(prefix="/api/v1/operator", tags=["operator"], responses=SIGNED_ERRORS)

KeyId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:\-]{1,64}$")]


@router.post("/assets", response_model=CommandOut)
async def add_asset(body: AssetIn, service: Operator) -> Response:
    return await service.run(command("add_asset", body))


@router.post("/markets", response_model=CommandOut)
async def add_market(body: MarketIn, service: Operator) -> Response:
    """A market (SPEC §2): linear, inverse or spot, with its risk tiers and insurance fund."""
    return await service.run(command("add_market", body))


@router.post("/funds", response_model=CommandOut)
async def add_fund(body: FundIn, service: Operator) -> Response:
    return await service.run(command("add_fund", body))


@router.post("/accounts", response_model=CommandOut)
async def add_account(body: AccountIn, service: Operator) -> Response:
    """An account, optionally the sub-account of a parent."""
    return await service.run(command("add_account", body))


@router.post("/api-keys")
async def create_api_key(body: ApiKeyIn, service: Operator) -> ApiKeyOut:
    """A trader or operator key; the secret is returned once and never stored (it is derived)."""
    key = body.key or "k_" + secrets.token_hex(12)
    if key == auth.ROOT_KEY:
        raise ApiError(409, "conflict", "the root key is built in", "key")
    secret = auth.derive_secret(service.master, key)
    result = await service.submit({"op": "api_key", "key": key, "role": body.role, "account": body.account,
                                "secret_sha256": auth.secret_digest(secret)})
    return ApiKeyOut(key=key, role=body.role, account=result.events[0]["account"], secret=secret)


@router.delete("/api-keys/{key}", response_model=CommandOut)
async def revoke_api_key(key: KeyId, service: Operator) -> Response:
    return await service.run({"op": "revoke_api_key", "key": key})


@router.post("/deposits", response_model=CommandOut)
async def deposit(body: DepositIn, service: Operator) -> Response:
    """Credit an account (money arriving from outside the venue)."""
    return await service.run(command("deposit", body))


@router.post("/withdrawals", response_model=CommandOut)
async def withdraw(body: DepositIn, service: Operator) -> Response:
    return await service.run(command("withdraw", body))


@router.post("/mark-prices", response_model=CommandOut)
async def mark_price(body: MarkPriceIn, service: Operator) -> Response:
    """A mark price: positions are checked for liquidation at it."""
    return await service.run(command("mark_price", body))


@router.post("/index-prices", response_model=CommandOut)
async def index_price(body: IndexPriceIn, service: Operator) -> Response:
    """An asset's index price in USDT (margin accounts, SPEC §9)."""
    return await service.run(command("index_price", body))


@router.post("/funding", response_model=CommandOut)
async def funding(body: FundingIn, service: Operator) -> Response:
    return await service.run(command("funding", body))


@router.post("/fund-injections", response_model=CommandOut)
async def fund_injection(body: FundInjectionIn, service: Operator) -> Response:
    return await service.run(command("fund_deposit", body))


@router.post("/reviews", response_model=CommandOut)
async def review(body: ReviewIn, service: Operator) -> Response:
    """Approve (the Margin Insurance Fund repays) or reject a margin bankruptcy waiting for review."""
    return await service.run(command("review", body))


@router.put("/policy", response_model=CommandOut)
async def set_policy(body: PolicyIn, service: Operator) -> Response:
    """Change policy knobs (SPEC §8), optionally starting from a preset."""
    return await service.run(command("set_policy", body))


@router.get("/state")
async def state(service: Operator) -> dict[str, Any]:
    """The whole state (SPEC §10) with the journal seq and state hash it belongs to."""
    venue = service.venue
    return {"seq": venue.seq, "state_hash": venue.state_hash(), "state": venue.engine.state()}


@router.post("/snapshots")
async def snapshot(service: Operator) -> dict[str, int]:
    """Take a snapshot now (restart loads the latest and replays the journal after it)."""
    return {"seq": await service.writer.snapshot()}
