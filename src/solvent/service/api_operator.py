"""Operator endpoints: signed with an operator key; every change is a journaled command."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Path

from solvent.service import auth
from solvent.service.access import OperatorKey, ServiceDep
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


@router.post("/assets")
async def add_asset(body: AssetIn, _: OperatorKey, service: ServiceDep) -> CommandOut:
    return await service.run(command("add_asset", body))


@router.post("/markets")
async def add_market(body: MarketIn, _: OperatorKey, service: ServiceDep) -> CommandOut:
    """A market (SPEC §2): linear, inverse or spot, with its risk tiers and insurance fund."""
    return await service.run(command("add_market", body))


@router.post("/funds")
async def add_fund(body: FundIn, _: OperatorKey, service: ServiceDep) -> CommandOut:
    return await service.run(command("add_fund", body))


@router.post("/accounts")
async def add_account(body: AccountIn, _: OperatorKey, service: ServiceDep) -> CommandOut:
    """An account, optionally the sub-account of a parent."""
    return await service.run(command("add_account", body))


@router.post("/api-keys")
async def create_api_key(body: ApiKeyIn, _: OperatorKey, service: ServiceDep) -> ApiKeyOut:
    """A trader or operator key; the secret is returned once and never stored (it is derived)."""
    key = body.key or "k_" + secrets.token_hex(12)
    if key == auth.ROOT_KEY:
        raise ApiError(409, "conflict", "the root key is built in", "key")
    secret = auth.derive_secret(service.master, key)
    result = await service.run({"op": "api_key", "key": key, "role": body.role, "account": body.account,
                                "secret_sha256": auth.secret_digest(secret)})
    return ApiKeyOut(key=key, role=body.role, account=result.events[0]["account"], secret=secret)


@router.delete("/api-keys/{key}")
async def revoke_api_key(key: KeyId, _: OperatorKey, service: ServiceDep) -> CommandOut:
    return await service.run({"op": "revoke_api_key", "key": key})


@router.post("/deposits")
async def deposit(body: DepositIn, _: OperatorKey, service: ServiceDep) -> CommandOut:
    """Credit an account (money arriving from outside the venue)."""
    return await service.run(command("deposit", body))


@router.post("/withdrawals")
async def withdraw(body: DepositIn, _: OperatorKey, service: ServiceDep) -> CommandOut:
    return await service.run(command("withdraw", body))


@router.post("/mark-prices")
async def mark_price(body: MarkPriceIn, _: OperatorKey, service: ServiceDep) -> CommandOut:
    """A mark price: positions are checked for liquidation at it."""
    return await service.run(command("mark_price", body))


@router.post("/index-prices")
async def index_price(body: IndexPriceIn, _: OperatorKey, service: ServiceDep) -> CommandOut:
    """An asset's index price in USDT (margin accounts, SPEC §9)."""
    return await service.run(command("index_price", body))


@router.post("/funding")
async def funding(body: FundingIn, _: OperatorKey, service: ServiceDep) -> CommandOut:
    return await service.run(command("funding", body))


@router.post("/fund-injections")
async def fund_injection(body: FundInjectionIn, _: OperatorKey, service: ServiceDep) -> CommandOut:
    return await service.run(command("fund_deposit", body))


@router.post("/reviews")
async def review(body: ReviewIn, _: OperatorKey, service: ServiceDep) -> CommandOut:
    """Approve (the Margin Insurance Fund repays) or reject a margin bankruptcy waiting for review."""
    return await service.run(command("review", body))


@router.put("/policy")
async def set_policy(body: PolicyIn, _: OperatorKey, service: ServiceDep) -> CommandOut:
    """Change policy knobs (SPEC §8), optionally starting from a preset."""
    return await service.run(command("set_policy", body))


@router.get("/state")
async def state(_: OperatorKey, service: ServiceDep) -> dict[str, Any]:
    """The whole state (SPEC §10) with the journal seq and state hash it belongs to."""
    venue = service.venue
    return {"seq": venue.seq, "state_hash": venue.state_hash(), "state": venue.engine.state()}


@router.post("/snapshots")
async def snapshot(_: OperatorKey, service: ServiceDep) -> dict[str, int]:
    """Take a snapshot now (restart loads the latest and replays the journal after it)."""
    return {"seq": await service.writer.snapshot()}
