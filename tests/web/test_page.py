"""The transparency page in a real browser (Debian's chromium driven by Playwright) against a real
`solvent demo` server replaying the June 2019 crash:

- the page loads and a liquidation that happens while it is open appears in the feed without reload;
- once the replay is done, each fund's chart holds as many points as the API's history has entries,
  and the daily report table shows exactly the API's figures;
- "verify" re-checks the hash chain in the browser: verified as served, broken when an entry is
  tampered with on the way (a venue serving a doctored history);
- a screenshot is saved to `artifacts/transparency-page.png` (CI keeps it; the README links it);
- the trader page (`/trader`), signed in the browser with a trader key, shows the account's positions
  with the liquidation price and ADL quantile the API gives.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from solvent import demo

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
SPEED = 25  # mark steps a second: the 576-step crash takes ~25 s


def _require_browser() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs Debian's chromium package")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium chromium-driver)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


DB: list[Path] = []


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _require_browser()
    db = tmp_path_factory.mktemp("demo") / "demo.db"
    DB[:] = [db]
    port = _free_port()
    command = [str(Path(sys.executable).parent / "solvent"), "demo", "--db", str(db), "--port", str(port),
               "--speed", str(SPEED)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{url}/api/v1/public/head", timeout=1)
            break
        except httpx.HTTPError as error:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                stderr = process.stderr.read() if process.stderr else b""
                raise RuntimeError(f"demo server did not start: {stderr!r}") from error
            time.sleep(0.1)
    yield url
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield instance
        instance.close()


def _api(url: str, path: str) -> Any:
    return httpx.get(f"{url}/api/v1/public{path}", timeout=10).json()


def _wait_replayed(url: str) -> None:
    expected = len(demo.setup_commands()) + sum(1 for _ in demo.steps())
    deadline = time.monotonic() + 120
    while _api(url, "/head")["seq"] < expected:
        assert time.monotonic() < deadline, "the demo replay did not finish"
        time.sleep(0.5)


def test_page_live_feed_charts_tables_and_verify(server: str, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    page.goto(server + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    page.evaluate("window.__loadedOnce = 'yes'")  # survives only if the page is never reloaded
    before = page.locator("#feed tbody tr").count()
    # the crash is still being replayed: new liquidations arrive over the stream
    page.wait_for_function(f"document.querySelectorAll('#feed tbody tr').length > {before}", timeout=90_000)
    assert page.evaluate("window.__loadedOnce") == "yes"
    assert page.locator("#status").inner_text() == "live"

    _wait_replayed(server)
    time.sleep(1.5)  # the last stream events and the debounced table refresh reach the page

    funds = _api(server, "/funds")
    assert funds, "the demo has at least one fund"
    for name, fund in funds.items():
        history = _api(server, f"/funds/{name}/history?limit=10000")
        assert history["total"] == fund["entries"]
        card = page.locator(f"[data-fund='{name}']")
        points = card.locator(".chart").get_attribute("data-points")
        drawn = page.evaluate(f"window.solvent.charts[{json.dumps(name)}].data[0].length")
        assert int(points or -1) == drawn == history["total"]
        assert card.locator(".balance").inner_text() == f"{fund['balance']} {fund['asset']}"

    daily = _api(server, "/reports/daily")
    page.wait_for_function(
        f"document.querySelectorAll('#daily tbody tr').length === {sum(len(rows) for rows in daily.values())}")
    for fund, rows in daily.items():
        for row in rows:
            cells = page.locator(f"#daily tr[data-fund='{fund}'][data-day='{row['day']}'] td[data-key]")
            shown = {cells.nth(i).get_attribute("data-key"): cells.nth(i).inner_text() for i in range(cells.count())}
            expected = {key: str(value) for key, value in row.items() if key != "day"}
            assert shown == expected

    name = next(iter(funds))
    card = page.locator(f"[data-fund='{name}']")
    card.locator("button.verify").click()
    page.wait_for_function(f"document.querySelector(\"[data-fund='{name}'] .verify-result\").dataset.result")
    assert card.locator(".verify-result").get_attribute("data-result") == "verified"
    for button in ("day", "week", "all"):
        card.locator(f"button[data-range='{button}']").click()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "transparency-page.png"), full_page=True)

    def tamper(route: Any) -> None:
        response = route.fetch()
        body = response.json()
        if len(body["entries"]) > 3:
            body["entries"][3]["delta"] = "1000000"  # money that never came in
        route.fulfill(response=response, body=json.dumps(body), headers={"content-type": "application/json"})

    page.route("**/api/v1/public/funds/*/history*", tamper)
    card.locator("button.verify").click()
    page.wait_for_function(
        f"document.querySelector(\"[data-fund='{name}'] .verify-result\").dataset.result === 'broken'",
        timeout=30_000)
    assert "entry 3" in card.locator(".verify-result").inner_text()
    page.close()


def test_trader_page_shows_my_liquidation_price_and_adl_quantile(server: str, browser: Any) -> None:
    from solvent.service import auth

    _wait_replayed(server)
    master = auth.load_master_key(Path(str(DB[0]) + ".key"), create=False)
    root = auth.derive_secret(master, auth.ROOT_KEY)

    def signed(method: str, path: str, key: str, secret: str, body: dict[str, Any] | None = None) -> Any:
        content = json.dumps(body).encode() if body is not None else b""
        headers = auth.signed_headers(key, secret, method, path, content)
        headers["content-type"] = "application/json"
        response = httpx.request(method, server + path, headers=headers, content=content, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    state = signed("GET", "/api/v1/operator/state", auth.ROOT_KEY, root)
    holders = sorted(name for name, account in state["state"]["accounts"].items()
                     if name != demo.MM and any(float(p["qty"]) for p in account["positions"].values()))
    assert holders, "someone still holds a position after the crash"
    account = holders[0]
    created = signed("POST", "/api/v1/operator/api-keys", auth.ROOT_KEY, root,
                     {"key": f"key-{account}", "role": "trader", "account": account})
    view = signed("GET", f"/api/v1/accounts/{account}", created["key"], created["secret"])
    position = view["positions"][demo.MARKET]

    page = browser.new_page()
    page.goto(server + "/trader")
    page.fill("input[name=account]", account)
    page.fill("input[name=key]", created["key"])
    page.fill("input[name=secret]", created["secret"])
    page.click("button[type=submit]")
    page.wait_for_selector("body[data-ready='1']", timeout=15_000)
    row = page.locator(f"#positions tr[data-market='{demo.MARKET}']")
    assert row.locator("td[data-key='liquidation_price']").inner_text() == str(position["liquidation_price"])
    assert row.locator("td[data-key='bankruptcy_price']").inner_text() == str(position["bankruptcy_price"])
    assert row.locator("td[data-quantile]").get_attribute("data-quantile") == str(position["adl_quantile"])

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "trader-page.png"), full_page=True)

    page.fill("input[name=secret]", "0" * 64)  # a wrong secret is refused by the server
    page.click("button[type=submit]")
    page.wait_for_selector("body[data-ready='error']", timeout=15_000)
    assert "401" in page.locator("#login-status").inner_text()
    page.close()
