"""Fixtures: the app over SQLite and over the real PostgreSQL (fresh schema per test, dropped after)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from solvent.service.app import create_app
from solvent.service.journal import drop_schema
from tests.service.support import MASTER, ROOT_SECRET, Signer, build_venue, pg_url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "journal.db")
        return
    url = pg_url()
    try:
        yield url
    finally:
        drop_schema(url)


class Api:
    """A running app (lifespan and writer started) with the root operator and the venue's traders."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.root = Signer(client, "root", ROOT_SECRET)
        self.secrets = build_venue(self.root)
        self.alice = Signer(client, "key-alice", self.secrets["alice"])
        self.bob = Signer(client, "key-bob", self.secrets["bob"])

    def state_hash(self) -> str:
        return str(self.client.get("/api/v1/public/head").json()["state_hash"])


def start(db: str, **options: object) -> TestClient:
    return TestClient(create_app(db, MASTER, **options), raise_server_exceptions=False)  # type: ignore[arg-type]


@pytest.fixture
def api(db_url: str) -> Iterator[Api]:
    with start(db_url, rate_limit=100_000) as client:
        yield Api(client)
