"""Browser tests: Debian's Chromium driven by Playwright against the app served from a real server thread.

The server needs committed data, so it gets its own application and SQLite file (migrated and loaded with reference
data) instead of the rolled-back ``db`` fixture. ``browser_page`` is one page; ``new_page()`` opens a page in a fresh
browser context, one per user of a flow with several. Screenshots go to ``test-artifacts/browser/<test>/``
(git-ignored).
Without ``/usr/bin/chromium`` (or the playwright package) the tests are skipped, unless COSMOS_REQUIRE_SERVICES=1.
"""
from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import service_missing

CHROMIUM = os.environ.get("COSMOS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


class _MailLog(logging.Handler):
    """Collects the account e-mail the app writes to the log (no SMTP here)."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def links(self) -> list[str]:
        import re

        from marketplace.accounts.services import MAIL_LOG_MARKER

        out = []
        for message in self.messages:
            found = re.search(r"link=(\S+)", message) if MAIL_LOG_MARKER in message else None
            if found and found.group(1) != "-":
                out.append(found.group(1))
        return out


@dataclass
class LiveServer:
    app: Any
    url: str
    mail: _MailLog
    enqueued: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def chromium() -> str:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        service_missing(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        service_missing("the playwright package is not installed")
    return CHROMIUM


@pytest.fixture(scope="session")
def prepared_classifiers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The code classifiers fitted once for every live server, as ``cosmos refdata load`` prepares them at deploy
    time (a fit takes seconds: a request must not wait for it)."""
    from marketplace import create_app
    from marketplace.classifiers.suggest import prepare_classifiers

    instance = tmp_path_factory.mktemp("classifiers")
    previous_instance = os.environ.get("COSMOS_INSTANCE_PATH")
    os.environ["COSMOS_INSTANCE_PATH"] = str(instance)
    try:
        app = create_app({"TESTING": True, "SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": "sqlite://",
                          "SQLALCHEMY_ENGINE_OPTIONS": {}, "REDIS_URL": None})
    finally:
        if previous_instance is None:
            os.environ.pop("COSMOS_INSTANCE_PATH", None)
        else:
            os.environ["COSMOS_INSTANCE_PATH"] = previous_instance
    with app.app_context():
        prepare_classifiers()
    return instance


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory, prepared_classifiers: Path) -> Iterator[LiveServer]:
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.refdata.loader import load_reference_data
    from workers import queue

    instance = tmp_path_factory.mktemp("browser-instance")
    for fitted in prepared_classifiers.glob("classifier-*"):
        shutil.copy(fitted, instance / fitted.name)
    previous_instance = os.environ.get("COSMOS_INSTANCE_PATH")
    os.environ["COSMOS_INSTANCE_PATH"] = str(instance)
    app = create_app({"TESTING": False, "SECRET_KEY": "browser-test-secret",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'browser.sqlite3'}",
                      "SQLALCHEMY_ENGINE_OPTIONS": {}, "SEARCH_URL": f"embedded://{instance / 'search'}",
                      "REDIS_URL": None, "SMTP_URL": None, "WTF_CSRF_ENABLED": True, "RATELIMIT_ENABLED": False,
                      "SERVER_NAME": None})
    with app.app_context():
        upgrade(revision="heads")
        load_reference_data()
        db.session.commit()
        db.session.remove()

    mail = _MailLog()
    logger = logging.getLogger("marketplace.accounts.services")
    logger.addHandler(mail)
    previous_level = logger.level
    logger.setLevel(logging.INFO)

    # The flow is about the pages; the search index is the search slice's and is drained by its own tests.
    server_state = LiveServer(app=app, url="", mail=mail)
    original_enqueue = queue.enqueue

    def record_enqueue(name: str, *args: Any, **kwargs: Any) -> Any:
        server_state.enqueued.append(name)
        return queue.JobHandle(name, "queued", id="browser-test")

    queue.enqueue = record_enqueue
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    server_state.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield server_state
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        queue.enqueue = original_enqueue
        logger.removeHandler(mail)
        logger.setLevel(previous_level)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if previous_instance is None:
            os.environ.pop("COSMOS_INSTANCE_PATH", None)
        else:
            os.environ["COSMOS_INSTANCE_PATH"] = previous_instance


@pytest.fixture
def chromium_browser(chromium: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """One Chromium for the test; its screenshots go to ``test-artifacts/browser/<test name>/``."""
    from playwright.sync_api import sync_playwright

    shots = ARTIFACTS / request.node.name
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        instance.shots = shots  # type: ignore[attr-defined]
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def new_page(chromium_browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """``new_page()`` → a page in a fresh browser context (its own cookies: one per user of a multi-user flow).
    Script errors and CSP refusals on any page fail the test; when it fails, each page's last state is kept as
    ``failed-<n>.png``."""
    contexts: list[Any] = []
    problems: list[str] = []

    def open_page() -> Any:
        context = chromium_browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.shots = chromium_browser.shots  # type: ignore[attr-defined]
        # A resource answering 4xx is the page's business (a 422 form, the missing favicon); a script error or a
        # Content-Security-Policy refusal is a broken page.
        page.on("console", lambda message: message.type == "error" and not message.text.startswith(
            "Failed to load resource") and problems.append(f"console: {message.text}"))
        page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
        return page

    try:
        yield open_page
        assert problems == [], "the pages logged errors"
    finally:
        report = getattr(request.node, "rep_call", None)
        for n, context in enumerate(contexts, start=1):
            if report is not None and report.failed:  # what each user saw when the test failed
                for page in context.pages:
                    page.screenshot(path=str(chromium_browser.shots / f"failed-{n}.png"), full_page=True)
            context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def browser_page(new_page: Any) -> Any:
    return new_page()
