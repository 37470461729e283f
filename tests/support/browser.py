"""Drive the real Airflow 3 UI (a React app) with Selenium and Debian's Chromium, offline.

* :func:`chromium_driver` starts headless Chromium through the system ``chromedriver``
  (``/usr/bin/chromedriver``), never through Selenium Manager (the driver path is given
  explicitly and ``SE_OFFLINE=true``), with flags that keep Chromium off the network.
* :class:`AirflowUI` logs in on the SimpleAuthManager page and opens a DAG;
  :class:`TriggerForm` fills the trigger dialog generated from the DAG's Params.

Selectors were read from the DOM of Airflow 3.3.2's UI: ``data-testid`` attributes
(``trigger-dag-button``, ``trigger-dag-submit``, ``config-form``, ``error-alert``), ``role`` attributes
(``dialog``, ``combobox``, ``option``) and the visible labels, which are the
Params' ``title`` values. Every wait is explicit (:class:`WebDriverWait`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote, unquote

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

#: Debian's ``chromium`` and ``chromium-driver`` packages (``scripts/setup.sh`` installs them);
#: the environment variables override them (used to check the "browser missing" failure).
CHROMIUM = Path(os.environ.get("AIRFLOW_EXPORT_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("AIRFLOW_EXPORT_CHROMEDRIVER", "/usr/bin/chromedriver"))

#: Headless, no sandbox (root in a container), and nothing that phones home.
CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
    "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
)

T = TypeVar("T")


def missing_browser_parts() -> list[str]:
    """What is missing to run the browser tests: a list of human-readable problems, empty when ready."""
    problems = []
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (path.is_file() and os.access(path, os.X_OK)):
            problems.append(f"{path} not found or not executable (Debian package {package!r}: "
                            f"apt-get install -y {package}, or run scripts/setup.sh)")
    return problems


@contextmanager
def chromium_driver(
    user_data_dir: Path, *, window_size: tuple[int, int] = (1400, 1000), log_file: Path | None = None,
) -> Iterator[WebDriver]:
    """A headless Chromium WebDriver session; always quit on exit.

    :param user_data_dir: a fresh, empty profile folder (created if missing).
    :param window_size: viewport in CSS pixels (width, height); screenshots have this size.
    :param log_file: where chromedriver writes its log (default: next to the profile).
    :raises RuntimeError: Chromium or chromedriver is missing (the message says how to install them).
    """
    problems = missing_browser_parts()
    if problems:
        raise RuntimeError("cannot start Chromium: " + "; ".join(problems))
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never download a driver or a browser
    user_data_dir.mkdir(parents=True, exist_ok=True)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={user_data_dir}")
    options.add_argument(f"--window-size={window_size[0]},{window_size[1]}")
    service = Service(str(CHROMEDRIVER), log_output=str(log_file or user_data_dir.with_suffix(".chromedriver.log")))
    driver = webdriver.Chrome(options=options, service=service)
    try:
        driver.set_page_load_timeout(60)
        yield driver
    finally:
        driver.quit()


def _xpath_literal(text: str) -> str:
    """``text`` as an XPath 1.0 string literal (XPath has no escapes: concat() when both quotes occur)."""
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    return "concat(" + ", \"'\", ".join(f"'{part}'" for part in text.split("'")) + ")"


class AirflowUI:
    """The Airflow 3 web UI at ``base_url``, driven through ``driver``.

    :param driver: a WebDriver session (see :func:`chromium_driver`).
    :param base_url: e.g. ``http://127.0.0.1:8080`` (no trailing slash).
    :param timeout: seconds any single explicit wait may take.
    """

    def __init__(self, driver: WebDriver, base_url: str, timeout: float = 60) -> None:
        self.driver = driver
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def wait(self, condition: Callable[[WebDriver], T], what: str, timeout: float | None = None) -> T:
        """Poll ``condition`` every 0.2 s until it returns a truthy value; return that value.

        :raises selenium.common.exceptions.TimeoutException: with ``what`` and the current URL in the message.
        """
        waiter = WebDriverWait(self.driver, timeout or self.timeout, poll_frequency=0.2)
        return waiter.until(condition, f"timed out waiting for {what} (at {self.driver.current_url})")

    def login(self, username: str, password: str, next_path: str = "/") -> None:
        """Open ``next_path``; on SimpleAuthManager's login page (``/auth/login``) sign in; wait to be back."""
        self.driver.get(self.base_url + next_path)
        user = self.wait(EC.element_to_be_clickable((By.NAME, "username")), "the login form")
        user.send_keys(username)
        self.driver.find_element(By.NAME, "password").send_keys(password)
        sign_in = EC.element_to_be_clickable((By.CSS_SELECTOR, "form button[type=submit]"))
        self.wait(sign_in, "the Sign in button").click()
        self.wait(lambda d: "/auth/login" not in d.current_url, "the redirect after signing in")

    def open_dag(self, dag_id: str) -> None:
        """Be on the DAG's overview page with no dialog open; wait for its Trigger button.

        The page is loaded only when the browser is elsewhere (loading the React app costs seconds).
        Only the overview will do: on a run's page the same button opens a menu ("Trigger",
        "Trigger again with this config") instead of the form.
        """
        url = f"{self.base_url}/dags/{dag_id}"
        open_dialogs = self.driver.find_elements(By.CSS_SELECTOR, "[role=dialog][data-state=open]")
        if self.driver.current_url.split("?")[0].rstrip("/") != url or open_dialogs:
            self.driver.get(url)
        self.wait(EC.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid=trigger-dag-button]")),
                  f"the Trigger button of {dag_id}")

    def open_trigger_form(self, dag_id: str) -> TriggerForm:
        """Click the DAG's Trigger button; return the open "Trigger Dag - <dag_id>" dialog."""
        self.driver.find_element(By.CSS_SELECTOR, "[data-testid=trigger-dag-button]").click()
        heading = f"Trigger Dag - {dag_id}"
        dialog = self.wait(EC.visibility_of_element_located((
            By.XPATH, f"//*[@role='dialog'][@data-state='open'][.//h2[normalize-space()={_xpath_literal(heading)}]]",
        )), f"the dialog {heading!r}")
        form = TriggerForm(self, dialog)
        self.wait(lambda d: form.submit_button().is_displayed(), "the dialog's Trigger button")
        return form

    def run_id_from_url(self, dag_id: str) -> str:
        """After a successful trigger the UI navigates to ``/dags/<dag_id>/runs/<run_id>``: wait, return the run id."""
        prefix = f"{self.base_url}/dags/{dag_id}/runs/"
        url = self.wait(lambda d: d.current_url if d.current_url.startswith(prefix) else None, "the new run's page")
        return unquote(url[len(prefix):].split("/")[0].split("?")[0])

    def open_run_tab(self, dag_id: str, run_id: str, tab: str) -> None:
        """Open a run's page and click its tab ``tab`` (e.g. a plugin's "Export files"); wait for its URL."""
        self.driver.get(f"{self.base_url}/dags/{dag_id}/runs/{quote(run_id, safe='')}")
        tab_link = EC.element_to_be_clickable((By.XPATH, f"//a[@title={_xpath_literal(tab)}]"))
        link = self.wait(tab_link, f"the tab {tab!r}")
        href = link.get_attribute("href")
        link.click()
        self.wait(lambda d: d.current_url == href, f"the tab {tab!r} to open")

    def enter_iframe(self, title: str) -> WebElement:
        """Switch into the iframe titled ``title`` (an ``external_views`` page); return the iframe element.
        ``driver.switch_to.default_content()`` leaves it."""
        frame = self.wait(EC.presence_of_element_located((By.XPATH, f"//iframe[@title={_xpath_literal(title)}]")),
                          f"the iframe {title!r}")
        self.driver.switch_to.frame(frame)
        return frame

    def allow_downloads(self, folder: Path) -> None:
        """Let the browser save downloads into ``folder`` without asking (CDP ``Browser.setDownloadBehavior``)."""
        folder.mkdir(parents=True, exist_ok=True)
        self.driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)})

    def toast(self, title: str) -> WebElement:
        """Wait for a toast notification titled ``title``; return the toast's title element."""
        return self.wait(EC.visibility_of_element_located((
            By.XPATH, f"//*[@data-scope='toast'][@data-part='title'][normalize-space()={_xpath_literal(title)}]",
        )), f"the toast {title!r}")

    def snapshot(self, stem: Path) -> tuple[Path, Path]:
        """Save ``<stem>.png`` (the viewport) and ``<stem>.html`` (the DOM); return both paths."""
        png, html = stem.with_suffix(".png"), stem.with_suffix(".html")
        stem.parent.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(png))
        html.write_text(self.driver.page_source, encoding="utf-8")
        return png, html

    @contextmanager
    def evidence_on_failure(self, stem: Path) -> Iterator[None]:
        """On any exception in the block, save a screenshot and the DOM as ``<stem>.png``/``.html``, then re-raise."""
        try:
            yield
        except BaseException:
            with suppress(WebDriverException):
                self.snapshot(stem)
            raise


class TriggerForm:
    """The open trigger dialog: its Params fields (found by their labels), the JSON editor and the Trigger button.

    :param ui: the page object that opened the dialog.
    :param dialog: the dialog element (``role=dialog``).
    """

    def __init__(self, ui: AirflowUI, dialog: WebElement) -> None:
        self.ui = ui
        self.driver = ui.driver
        self.dialog = dialog

    def field(self, label: str) -> WebElement:
        """The input of the field labelled ``label`` (a Param's ``title``), through the label's ``for`` attribute.

        :raises selenium.common.exceptions.NoSuchElementException: no such label in the dialog.
        """
        label_el = self.dialog.find_element(
            By.XPATH, f".//label[@data-part='label'][normalize-space(text()[1])={_xpath_literal(label)}]")
        return self.dialog.find_element(By.ID, label_el.get_attribute("for"))

    def value(self, label: str) -> str:
        """The value the form holds for a field: the input's text, or a dropdown's selected option."""
        element = self.field(label)
        if element.get_attribute("role") == "combobox":  # react-select keeps the choice in a hidden input
            root = element.find_element(By.XPATH, "./ancestor::div[starts-with(@id, 'element_')][1]")
            return root.find_element(By.CSS_SELECTOR, "input[type=hidden]").get_attribute("value")
        return element.get_attribute("value")

    def type_into(self, label: str, text: str, *, blur: bool = True) -> WebElement:
        """Replace the text of a field (select all, type); with ``blur``, press Tab to leave it."""
        element = self.field(label)
        self.ui.wait(lambda d: element.is_enabled() and element.is_displayed(), f"the field {label!r}")
        element.click()
        element.send_keys(Keys.CONTROL, "a")
        element.send_keys(text)
        if blur:
            element.send_keys(Keys.TAB)
        return element

    def choose(self, label: str, option: str) -> None:
        """Pick ``option`` in the dropdown labelled ``label`` (open it, click the option by its text)."""
        box = self.field(label)
        box.click()
        box.send_keys(option)
        self.ui.wait(EC.element_to_be_clickable((
            By.XPATH, f"//*[@role='listbox']//*[@role='option'][normalize-space()={_xpath_literal(option)}]",
        )), f"the option {option!r} of {label!r}").click()
        self.ui.wait(lambda d: self.value(label) == option, f"{label!r} to hold {option!r}")

    def _section(self, title: str) -> WebElement:
        """Expand the accordion section ``title`` (e.g. "Run Parameters", "Advanced Options"); return its trigger."""
        xpath = (".//*[@data-testid='config-form']//button[@data-part='item-trigger']"
                 f"[normalize-space()={_xpath_literal(title)}]")
        trigger = self.dialog.find_element(By.XPATH, xpath)
        if trigger.get_attribute("aria-expanded") != "true":
            trigger.click()
            self.ui.wait(lambda d: trigger.get_attribute("aria-expanded") == "true", f"the section {title!r} to open")
        return trigger

    def show_parameters(self) -> None:
        """Expand the "Run Parameters" section (opening "Advanced Options" collapses it)."""
        self._section("Run Parameters")

    def set_conf_json(self, text: str) -> None:
        """Replace the "Configuration JSON" (Advanced Options, a Monaco editor) with ``text``, then leave the editor.

        The text is inserted in one go (CDP ``Input.insertText``, like a paste), so the editor's
        bracket/quote auto-closing does not add characters; leaving the editor makes the UI parse
        the JSON and copy its values into the Params fields.
        """
        self._section("Advanced Options")
        editor = self.ui.wait(EC.element_to_be_clickable((
            By.CSS_SELECTOR, "[data-testid=config-form] [role=code]")), "the Configuration JSON editor")
        editor.click()
        ActionChains(self.driver).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).send_keys(Keys.DELETE).perform()
        self.driver.execute_cdp_cmd("Input.insertText", {"text": text})
        self.dialog.find_element(By.TAG_NAME, "h2").click()  # blur: the editor validates and prettifies on blur

    def conf_json_text(self) -> str:
        """The text the Configuration JSON editor shows (its rendered lines joined with newlines)."""
        return self.dialog.find_element(By.CSS_SELECTOR, "[data-testid=config-form] .view-lines").text

    def submit_button(self) -> WebElement:
        """The dialog's own Trigger button (not the page's)."""
        return self.dialog.find_element(By.CSS_SELECTOR, "[data-testid=trigger-dag-submit]")

    def submit(self) -> None:
        """Click Trigger (it must be enabled)."""
        button = self.ui.wait(lambda d: self.submit_button() if self.submit_button().is_enabled() else None,
                              "the dialog's Trigger button to be enabled")
        button.click()

    def error_alert(self) -> WebElement:
        """Wait for the error alert (``data-testid=error-alert``) the dialog shows when the API refuses the trigger."""
        return self.ui.wait(lambda d: next(
            (e for e in self.dialog.find_elements(By.CSS_SELECTOR, "[data-testid=error-alert]") if e.is_displayed()),
            None,
        ), "the dialog's error alert")

