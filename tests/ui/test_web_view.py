"""The live web view in Debian's chromium: rows arrive while the page is open, a request opens with its bodies
and masked headers, filters and search narrow the list, the side panels show the scenario's rule hits, the
deployments' quota and pacing and the fault log; with an admin key nothing shows until it is given.

The traffic is real (the openai SDK against a live server). Screenshots go to ``build/screenshots/``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aoai_mock.behaviour.provisioned import ProvisionedMeter
from aoai_mock.behaviour.ratelimit import RateLimiter
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer

from tests.ui.conftest import PHONE, open_page, screenshot
from tests.ui.traffic import ADMIN_KEY, AZURE_KEY, Sent, admin, client, prepare, send_all

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install -e '.[test]'")
expect = sync_api.expect
Browser, Page = sync_api.Browser, sync_api.Page

ROWS = "#rows tr"


def ui(server: LiveServer) -> str:
    return f"{server.url}/_mock/ui"


def search(page: Page, text: str) -> None:
    page.fill("#search", text)


def show(page: Page, which: str) -> None:
    page.click(f'#status-filter button[data-show="{which}"]')


@pytest.fixture(scope="module")
def busy() -> Iterator[tuple[LiveServer, Sent]]:
    """A server with the scenario active, the one-off 429 installed, and the six requests already answered.
    The quotas' clock stands still, so the metered deployment shows what its request spent."""
    with LiveServer(resolve({"port": 0, "api_keys": (AZURE_KEY,)}, env={})) as server:
        server.app.state.runtime.limiter = RateLimiter(clock=lambda: 1000.0)
        prepare(server)
        yield server, send_all(server)


@pytest.fixture()
def busy_page(page: Page, busy: tuple[LiveServer, Sent]) -> Page:
    page.goto(ui(busy[0]))
    expect(page.locator(ROWS)).to_have_count(6)
    return page


def test_rows_appear_while_the_page_is_open(page: Page) -> None:
    with LiveServer(resolve({"port": 0}, env={})) as server:
        page.goto(ui(server))
        expect(page.locator("#status")).to_have_attribute("data-state", "live")
        expect(page.locator("#empty")).to_contain_text("Waiting for requests")
        screenshot(page, "01-waiting")
        page.evaluate("window.stayed = true")  # gone if the page reloads

        sdk = client(server)
        sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "first question"}])
        expect(page.locator(ROWS)).to_have_count(1)
        sdk.embeddings.create(model="text-embedding-3-small", input="second")
        expect(page.locator(ROWS)).to_have_count(2)
        expect(page.locator(ROWS).first).to_contain_text("text-embedding-3-small")  # the newest on top
        expect(page.locator("#stat-requests")).to_have_text("2")
        assert page.evaluate("window.stayed === true && performance.getEntriesByType('navigation').length === 1")


def test_a_request_opens_with_its_bodies_and_masked_headers(busy_page: Page, busy: tuple[LiveServer, Sent]) -> None:
    page, sent = busy_page, busy[1]
    search(page, "Paris")
    expect(page.locator(ROWS)).to_have_count(1)
    page.locator(ROWS).first.click()
    drawer = page.locator("#detail")
    expect(drawer).to_be_visible()
    expect(page.locator("#detail-title")).to_have_text("POST /openai/deployments/gpt-4o/chat/completions")
    expect(drawer).to_contain_text("What is the weather in Paris?")  # the request body
    expect(drawer.locator(".answer-text")).to_have_text(sent.weather)
    expect(drawer).to_contain_text('"object": "chat.completion"')  # the response body
    expect(drawer.locator(".facts")).to_contain_text("weather")  # the rule
    api_key = drawer.locator(".kv tr", has_text="api-key").locator("td").nth(1)
    expect(api_key).to_have_text("***")
    assert AZURE_KEY not in page.content()
    assert page.url.endswith("#1")
    screenshot(page, "03-request-detail")
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()


def test_a_stream_shows_its_events_and_the_answer(browser: Browser, busy: tuple[LiveServer, Sent]) -> None:
    server, sent = busy
    with open_page(browser, scheme="dark") as page:
        page.goto(ui(server))
        expect(page.locator(ROWS)).to_have_count(6)
        search(page, "rule:greeting")
        expect(page.locator(ROWS)).to_have_count(1)
        page.locator(ROWS).first.click()
        drawer = page.locator("#detail")
        expect(drawer.locator(".answer-text")).to_have_text(sent.greeting)
        stream = drawer.locator(".section", has_text="Response stream")
        expect(stream).to_contain_text("chat.completion.chunk")
        screenshot(page, "04-stream-detail-dark")
        stream.get_by_role("button", name="Raw").click()
        expect(stream.locator("pre")).to_contain_text("data: [DONE]")


def test_filters_and_search_narrow_the_list(busy_page: Page) -> None:
    page = busy_page
    show(page, "4xx")
    expect(page.locator(ROWS)).to_have_count(1)
    expect(page.locator(ROWS).first.locator(".pill")).to_have_text("429")
    show(page, "retry")
    expect(page.locator(ROWS)).to_have_count(1)
    page.locator(ROWS).first.click()
    retry_of = page.locator(".facts dd", has_text="attempt 2")
    expect(retry_of).to_contain_text("after 429")
    retry_of.get_by_role("button").click()  # to the attempt it retries
    expect(page.locator("#detail-kicker .pill")).to_have_text("429")
    expect(page.locator(".facts")).to_contain_text("Retried by")
    page.keyboard.press("Escape")

    show(page, "")
    page.select_option("#deployment-filter", "text-embedding-3-small")
    expect(page.locator(ROWS)).to_have_count(1)
    page.select_option("#deployment-filter", "")
    page.select_option("#operation-filter", "chat.completions")
    expect(page.locator(ROWS)).to_have_count(5)
    page.select_option("#operation-filter", "")
    search(page, "status:429")
    expect(page.locator(ROWS)).to_have_count(1)
    search(page, "sunny")  # in a response body
    expect(page.locator(ROWS)).to_have_count(1)
    search(page, "nothing sent says this")
    expect(page.locator(ROWS)).to_have_count(0)
    expect(page.locator("#empty")).to_contain_text("No request matches")
    search(page, "")
    expect(page.locator(ROWS)).to_have_count(6)


def test_the_side_panels_show_rule_hits_deployments_and_faults(busy_page: Page, busy: tuple[LiveServer, Sent]) -> None:
    page, server = busy_page, busy[0]
    with admin(server) as control:
        rules = control.get("/_mock/scenarios").json()["data"][0]["rules"]
        metered_call = control.get("/_mock/requests", params={"deployment": "gpt-4o-metered"}).json()["data"][0]
    assert {r["name"]: r["hits"] for r in rules} == {"weather": 1, "greeting": 1, "never-used": 0}
    scenario = page.locator('[data-scenario="support-demo"]')
    expect(scenario).to_contain_text("active")
    expect(scenario.locator('[data-rule="weather"] .hits')).to_have_text("1 hit")
    expect(scenario.locator('[data-rule="greeting"] .hits')).to_have_text("1 hit")
    expect(scenario.locator('[data-rule="never-used"] .hits')).to_have_text("0 hits")

    metered = page.locator('[data-deployment="gpt-4o-metered"]')
    expect(metered).to_contain_text("scenario:support-demo")
    cost = metered_call["quota"]["cost"]
    assert 200 < cost < 2000  # its prompt and max_tokens
    expect(metered.locator(".meter .num").first).to_have_text(f"{2000 - cost:,} / 2,000")  # tokens
    expect(metered.locator(".meter .num").nth(1)).to_have_text("1 / 2")  # requests: 10 s of 12 a minute
    expect(metered).to_contain_text("Paced: first token 30 ms · 400 tokens/s · ±20%")
    expect(page.locator('[data-deployment="gpt-4o"]')).to_contain_text("quota not enforced")

    expect(page.locator('[data-fault-entry="throttle-once"]')).to_contain_text("fired 1")
    expect(page.locator("[data-injection]")).to_contain_text("retried after")
    screenshot(page, "02-overview", full_page=True)

    scenario.locator('[data-rule="weather"] button').click()  # a rule shows the requests it answered
    expect(page.locator("#search")).to_have_value("scenario:support-demo rule:weather")
    expect(page.locator(ROWS)).to_have_count(1)


def test_the_page_reads_well_dark_and_on_a_phone(browser: Browser, busy: tuple[LiveServer, Sent]) -> None:
    server = busy[0]
    with open_page(browser, scheme="dark") as page:
        page.goto(ui(server))
        expect(page.locator(ROWS)).to_have_count(6)
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(14, 17, 23)"
        screenshot(page, "05-overview-dark")
    with open_page(browser, viewport=PHONE) as page:
        page.goto(ui(server))
        expect(page.locator(ROWS)).to_have_count(6)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # nothing runs off the side
        screenshot(page, "06-phone")
        page.locator(ROWS).first.click()
        expect(page.locator("#detail")).to_be_visible()
        screenshot(page, "07-phone-detail")


@pytest.fixture(scope="module")
def locked() -> Iterator[LiveServer]:
    with LiveServer(resolve({"port": 0, "admin_key": ADMIN_KEY}, env={})) as server:
        client(server).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "private words"}])
        yield server


def test_with_an_admin_key_nothing_shows_until_it_is_given(page: Page, locked: LiveServer) -> None:
    reads: list[tuple[str, int, str | None]] = []
    page.on("response", lambda r: reads.append((r.url, r.status, r.request.headers.get("x-aoai-mock-admin-key"))))
    page.goto(ui(locked))
    expect(page.locator("#key-screen")).to_be_visible()
    expect(page.locator("#status-text")).to_have_text("Admin key required")
    expect(page.locator("#key-error")).to_be_hidden()
    data = [(url, status) for url, status, _ in reads if "/_mock/ui" not in url]
    assert data and all(status == 401 for _, status in data)
    assert page.locator(ROWS).count() == 0 and "private words" not in page.content()
    screenshot(page, "08-admin-key")

    page.fill("#key-input", "not-the-key")
    page.press("#key-input", "Enter")
    expect(page.locator("#key-error")).to_have_text("That key was refused.")
    assert page.locator(ROWS).count() == 0

    page.fill("#key-input", ADMIN_KEY)
    page.press("#key-input", "Enter")
    expect(page.locator(ROWS)).to_have_count(1)
    expect(page.locator("#key-screen")).to_be_hidden()
    first_read = [(status, key) for url, status, key in reads if url.endswith("/_mock/requests?limit=200")]
    assert (200, ADMIN_KEY) in first_read
    page.reload()  # the key is kept for the tab
    expect(page.locator(ROWS)).to_have_count(1)
    page.click("#lock")
    expect(page.locator("#key-screen")).to_be_visible()
    assert page.locator(ROWS).count() == 0
    assert page.evaluate("sessionStorage.length") == 0


def test_a_provisioned_deployment_shows_its_utilization(page: Page) -> None:
    """A provisioned deployment's panel entry is its utilization, as ``GET /_mock/deployments`` states it (the
    meter's clock stands still), not a quota."""
    with LiveServer(resolve({"port": 0}, env={})) as server:
        server.app.state.runtime.provisioned = ProvisionedMeter(clock=lambda: 1000.0)
        with admin(server) as control:
            added = {"name": "ptu-4o", "model": "gpt-4o", "version": "2024-08-06", "kind": "chat",
                     "sku": "global_provisioned", "ptu": 15}
            control.post("/_mock/deployments", json=added).raise_for_status()
            client(server).chat.completions.create(
                model="ptu-4o", max_tokens=50, messages=[{"role": "user", "content": "How full are you?"}]
            )
            [state] = [d for d in control.get("/_mock/deployments").json()["data"] if d["name"] == "ptu-4o"]
        used = state["utilization"]
        assert 0 < used["utilization"] < 100
        page.goto(ui(server))
        entry = page.locator('[data-deployment="ptu-4o"]')
        expect(entry.locator("[data-utilization] .num")).to_have_text(f"{used['utilization']:.1f}% of 15 PTU")
        expect(entry).not_to_contain_text("quota not enforced")
