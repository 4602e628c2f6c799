"""Request and response bodies. Amounts and prices are decimal strings (the engine converts them to
whole units, ticks or lots and refuses anything finer); names follow the engine's identifiers."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:\-]{1,64}$", examples=["BTCUSDT"])]
AccountName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]{1,64}$", examples=["alice"])]
Positive = Annotated[str, Field(pattern=r"^\d{1,24}(\.\d{1,18})?$", examples=["7000.5"])]
Signed = Annotated[str, Field(pattern=r"^-?\d{1,24}(\.\d{1,18})?$", examples=["-25"])]
Leverage = Annotated[int, Field(ge=1, le=1000)]
Scalar = str | int | bool | None


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- trader -----------------------------------------------------------------------------------------
class OrderIn(Body):
    market: Name
    side: Literal["buy", "sell"]
    type: Literal["limit", "market"] = "limit"
    qty: Positive
    price: Positive | None = None
    tif: Literal["gtc", "ioc", "fok", "post_only"] | None = None
    reduce_only: bool = False
    margin_mode: Literal["isolated", "cross"] | None = None
    leverage: Leverage | None = None
    margin_account: Name | None = Field(None, description="Spot margin account (cross, cross_pro, isolated:PAIR).")
    client_order_id: Name | None = Field(None, description="Unique per account: a retry with the same id "
                                                           "returns the first result and books nothing.")


class LeverageIn(Body):
    market: Name
    leverage: Leverage
    margin_mode: Literal["isolated", "cross"] | None = None


class MarginIn(Body):
    market: Name
    amount: Signed = Field(description="Positive adds isolated margin from the wallet, negative removes it.")


class LoanIn(Body):
    asset: Name
    amount: Positive
    margin_account: Name


class WithdrawIn(Body):
    asset: Name
    amount: Positive
    margin_account: Name | None = None


# ---- operator ---------------------------------------------------------------------------------------
class AssetIn(Body):
    asset: Name
    decimals: Annotated[int, Field(ge=0, le=18)] = 8


class Tier(Body):
    max_notional: Positive
    mmr: Positive
    max_leverage: Leverage
    cum: Signed | None = None


class MarketIn(Body):
    market: Name
    type: Literal["linear", "inverse", "spot"] = "linear"
    base: Name
    settle: Name | None = None
    quote: Name | None = None
    tick_size: Positive
    lot_size: Positive
    contract_size: Positive | None = None
    maker_fee: Signed | None = None
    taker_fee: Positive | None = None
    fund_fee_share: Positive | None = None
    tiers: list[Tier] | None = Field(None, max_length=50)
    fund: Name | None = None


class FundIn(Body):
    fund: Name
    asset: Name


class AccountIn(Body):
    account: AccountName
    parent: AccountName | None = None


class ApiKeyIn(Body):
    key: Name | None = Field(None, description="Key id; a random one if omitted.")
    role: Literal["trader", "operator"] = "trader"
    account: AccountName | None = Field(None, description="The account a trader key acts for (and its subs).")


class ApiKeyOut(BaseModel):
    key: str
    role: str
    account: str | None
    secret: str = Field(description="Shown once; the server keeps only its SHA-256 (and derives it again).")


class DepositIn(Body):
    account: AccountName
    asset: Name
    amount: Positive
    margin_account: Name | None = None


class MarkPriceIn(Body):
    market: Name
    price: Positive


class IndexPriceIn(Body):
    asset: Name
    price: Positive


class FundingIn(Body):
    market: Name
    rate: Signed


class FundInjectionIn(Body):
    fund: Name
    amount: Positive


class ReviewIn(Body):
    account: AccountName | None = None
    margin_account: Name | None = None
    id: Name | None = None
    decision: Literal["approve", "reject"]


class PolicyIn(Body):
    model_config = ConfigDict(extra="allow")
    preset: Name | None = None


# ---- responses --------------------------------------------------------------------------------------
class CommandOut(BaseModel):
    seq: int = Field(description="Journal sequence number of the command (durable when you read this).")
    duplicate: bool = Field(False, description="True: an earlier command with this client order id is answered.")
    events: list[dict[str, Any]]


def command(op: str, body: BaseModel, **extra: Any) -> dict[str, Any]:
    """The engine command for a request body: its fields without the unset ones, plus `extra`."""
    fields = body.model_dump(exclude_none=True)
    return {"op": op, **fields, **extra}
