"""The web UI with authentication on, in headless Chromium against a real uvicorn on 127.0.0.1: a page without the
session cookie shows the login form; a token typed into it opens the page asked for (its content read back), with
an HttpOnly, SameSite=Strict session cookie; a wrong token is refused on the form; a form POST needs the CSRF token;
the acknowledgement from the UI names the signed-in identity; logout ends the session."""

from __future__ import annotations

import time

import httpx
import pandas as pd
import pytest
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

import conveyor as cv
from conveyor.core.entities import Alert, new_id
from conveyor.security import add_identity

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def guarded(tmp_path_factory, serve):
    project = cv.Project.init(tmp_path_factory.mktemp("guarded-ui"), name="guarded")
    project.data.ingest(pd.DataFrame({"x": [1, 2, 3], "y": [0, 1, 0]}), "ledger")
    token = add_identity(project.stores, "ada", "scientist", actor="tests").secret
    alert = project.stores.monitoring.add_alert(Alert(new_id(), "drift", "ledger:1", "drift.share", 0.5, 0.3,
                                                      "drift: 0.5", time.time(), time.time()))
    with project, serve(project) as url:
        yield url, project, token, alert.id


def login_form_shown(browser) -> bool:
    return bool(browser.find_elements(By.ID, "login-form"))


def replaced(page):
    """A wait condition: true once `page` (the old document's root) no longer belongs to the window's document.

    Selenium's own staleness_of only knows StaleElementReferenceException; Chromium 156 can instead answer a node
    lookup made while the new document replaces the old one with an inspector error saying the same thing."""

    def gone(_browser) -> bool:
        try:
            page.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            if "does not belong to the document" in str(error.msg):
                return True
            raise
        return False

    return gone


def submit(browser, button) -> None:
    """Click a form's button and wait for the next page to replace this one."""
    page = browser.find_element(By.TAG_NAME, "html")
    button.click()
    WebDriverWait(browser, 30).until(replaced(page))
    # the old document is gone as the new one starts loading: reading its nodes before it is complete races the load
    WebDriverWait(browser, 30).until(lambda b: b.execute_script("return document.readyState") == "complete")


def sign_in(browser, token: str) -> None:
    browser.find_element(By.ID, "token").send_keys(token)
    submit(browser, browser.find_element(By.ID, "sign-in"))


def test_a_page_without_the_cookie_shows_the_login_form_and_a_token_opens_it(browser, guarded) -> None:
    url, _project, token, _alert = guarded
    browser.delete_all_cookies()
    browser.get(f"{url}/datasets")
    assert login_form_shown(browser)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Sign in"
    assert "ledger" not in browser.page_source
    sign_in(browser, "cvy_not-the-token")
    assert login_form_shown(browser)
    assert "Invalid, expired or revoked token." in browser.find_element(By.ID, "login-error").text
    sign_in(browser, token)
    assert browser.current_url == f"{url}/datasets"
    assert browser.find_element(By.TAG_NAME, "h1").text == "Datasets"
    assert "ledger" in browser.find_element(By.TAG_NAME, "body").text
    assert browser.find_element(By.ID, "signed-in").text == "ada"
    cookie = browser.get_cookie("conveyor_session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    browser.delete_cookie("conveyor_session")
    browser.get(f"{url}/datasets")
    assert login_form_shown(browser)


def test_a_form_post_needs_the_csrf_token_and_is_done_as_the_signed_in_identity(browser, guarded) -> None:
    url, project, token, alert_id = guarded
    browser.delete_all_cookies()
    browser.get(f"{url}/alerts")
    sign_in(browser, token)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Alerts"
    session = browser.get_cookie("conveyor_session")["value"]
    forged = httpx.post(f"{url}/alerts/{alert_id}/ack", cookies={"conveyor_session": session}, data={},
                        follow_redirects=False)
    assert forged.status_code == 403 and "CSRF" in forged.text
    assert project.stores.monitoring.get_alert(alert_id).status == "open"
    submit(browser, browser.find_element(By.CSS_SELECTOR, f"form[action$='/alerts/{alert_id}/ack'] button"))
    assert "acknowledged" in browser.find_element(By.ID, "flash").text
    assert project.stores.monitoring.get_alert(alert_id).acked_by == "ada"
    submit(browser, browser.find_element(By.CSS_SELECTOR, "#logout button"))
    assert login_form_shown(browser)
    browser.get(f"{url}/alerts")
    assert login_form_shown(browser)


def test_without_a_session_a_form_post_is_refused_and_nothing_changes(guarded) -> None:
    url, project, _token, _alert = guarded
    other = project.stores.monitoring.add_alert(Alert(new_id(), "drift", "ledger:2", "drift.share", 0.5, 0.3,
                                                      "drift: 0.5", time.time(), time.time()))
    answer = httpx.post(f"{url}/alerts/{other.id}/ack", data={}, follow_redirects=False)
    assert answer.status_code == 401 and "login-form" in answer.text
    assert project.stores.monitoring.get_alert(other.id).status == "open"
    page = httpx.get(f"{url}/models", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/models"
