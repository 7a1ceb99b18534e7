"""A real OpenID provider for the single sign-on tests, never a mock: the tiny
django-oauth-toolkit project in tests/oidc_provider, run as a second Django process on a
free port with its own SQLite file and an RSA signing key generated here, waited on until
it answers and stopped after. The tests drive its sign-in form over real HTTP (httpx,
cookies kept: a test that needs the provider to remember who signed in there keeps one
browser for its length) and the site exchanges the code with it over real HTTP too."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client

# The site's routes as the environment configures them, loaded before any test here turns
# single sign-on on in its settings (the module routes it once, when first imported).
import supportdesk.urls  # noqa: F401

PROJECT = Path(__file__).resolve().parents[2]
PROVIDER_PASSWORD = "provider-pass-2026"
# The site under test is Django's test client: its callback, registered at the provider.
REDIRECT_URI = "http://testserver/accounts/sso/callback/"
# Where the provider's end-session endpoint sends the browser back to: the sign-in page.
POST_LOGOUT_REDIRECT_URI = "http://testserver/accounts/login/"
CLIENT_ID = "supportdesk-tests"
CLIENT_SECRET = "supportdesk-tests-secret-0123456789"

# The people of the provider. Letter case differs from the site's on purpose: addresses
# match whatever their case.
STAFF = "Agent.SSO@Provider.Test"
CUSTOMER = "customer@alpha.test"
STRANGER = "stranger@provider.test"
FORMER_AGENT = "former.agent@provider.test"
UNVERIFIED_AGENT = "unverified.agent@provider.test"
# Each address and whether the provider has verified it.
PEOPLE = {STAFF: True, CUSTOMER: True, STRANGER: True, FORMER_AGENT: True, UNVERIFIED_AGENT: False}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Provider:
    url: str
    log: Path

    @property
    def issuer(self) -> str:
        return f"{self.url}/o"

    def endpoints(self) -> dict[str, str]:
        return {
            "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{self.issuer}/authorize/",
            "OIDC_OP_TOKEN_ENDPOINT": f"{self.issuer}/token/",
            "OIDC_OP_USER_ENDPOINT": f"{self.issuer}/userinfo/",
            "OIDC_OP_JWKS_ENDPOINT": f"{self.issuer}/.well-known/jwks.json",
        }

    @property
    def end_session_endpoint(self) -> str:
        return f"{self.issuer}/logout/"

    def authorize(self, authorize_url: str, email: str, browser: httpx.Client | None = None) -> str:
        """A browser at the provider (``browser``, else a new one): sent to its sign-in
        form, signs in as ``email``, and is sent back; returns where to (the site's
        callback with the code and state)."""
        assert authorize_url.startswith(self.url), authorize_url
        with contextlib.ExitStack() as stack:
            if browser is None:
                browser = stack.enter_context(provider_browser())
            asked = browser.get(authorize_url)
            assert asked.status_code == 302, asked.text
            login_url = urljoin(authorize_url, asked.headers["location"])
            form = browser.get(login_url)
            assert form.status_code == 200, form.text
            match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
            assert match is not None, form.text
            signed_in = browser.post(
                login_url,
                data={
                    "csrfmiddlewaretoken": match.group(1),
                    "username": email,
                    "password": PROVIDER_PASSWORD,
                    "next": parse_qs(urlsplit(login_url).query)["next"][0],
                },
            )
            assert signed_in.status_code == 302, signed_in.text
            back = browser.get(urljoin(login_url, signed_in.headers["location"]))
            assert back.status_code == 302, back.text
            return str(back.headers["location"])

    def asks_for_password(self, authorize_url: str, browser: httpx.Client) -> bool:
        """Whether the provider, asked to authorize in ``browser``, wants its sign-in form
        (nobody signed in there) rather than sending the browser straight back."""
        asked = browser.get(authorize_url)
        assert asked.status_code == 302, asked.text
        return urljoin(authorize_url, asked.headers["location"]).startswith(
            f"{self.url}/accounts/login/"
        )

    def tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-40:])
        except OSError:
            return "(no log)"


def provider_browser() -> httpx.Client:
    """The browser's side at the provider: its cookies (the provider's session) kept."""
    return httpx.Client(follow_redirects=False, timeout=20)


def _environment(workdir: Path) -> dict[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = workdir / "signing-key.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    # The site's own database, cache and settings are none of the provider's business.
    unwanted = {"DATABASE_URL", "REDIS_URL", "DJANGO_ENV"}
    environment = {k: v for k, v in os.environ.items() if k not in unwanted}
    environment.update(
        DJANGO_SETTINGS_MODULE="tests.oidc_provider.settings",
        OIDC_PROVIDER_DB=str(workdir / "provider.sqlite3"),
        OIDC_PROVIDER_KEY=str(key_file),
        DJANGO_RUNSERVER_HIDE_WARNING="true",
    )
    return environment


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def running_provider(
    workdir: Path,
    *,
    redirect_uri: str = REDIRECT_URI,
    signed_out_uri: str = POST_LOGOUT_REDIRECT_URI,
) -> Iterator[Provider]:
    """The provider, serving until the block ends, with the site's callback and sign-in
    page registered (the test client's by default; the browser tier's live server's)."""
    environment = _environment(workdir)
    setup = subprocess.run(
        [
            *(sys.executable, "-m", "django", "provider_setup"),
            *("--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET),
            *("--redirect-uri", redirect_uri),
            *("--post-logout-redirect-uri", signed_out_uri),
            *(
                f"--person={email}:{PROVIDER_PASSWORD}" + ("" if verified else ":unverified")
                for email, verified in PEOPLE.items()
            ),
        ],
        cwd=PROJECT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert setup.returncode == 0, setup.stdout + setup.stderr
    port = _free_port()
    served = Provider(url=f"http://127.0.0.1:{port}", log=workdir / "provider.log")
    with served.log.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=PROJECT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while not _answers(f"{served.issuer}/.well-known/openid-configuration"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the OpenID provider did not start:\n{served.tail()}")
            time.sleep(0.1)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    with running_provider(tmp_path_factory.mktemp("oidc-provider")) as served:
        yield served


@pytest.fixture
def sso(settings: pytest.FixtureRequest, provider: Provider) -> Provider:
    """The site configured for the provider by its issuer (endpoints discovered), as
    settings.py configures it from OIDC_RP_CLIENT_ID, OIDC_RP_CLIENT_SECRET and
    OIDC_OP_ISSUER; with the single sign-on routes."""
    return configure_site(settings, provider)


def configure_site(settings: pytest.FixtureRequest, provider: Provider) -> Provider:
    settings.SSO_ENABLED = True
    settings.SSO_PROVIDER_NAME = "Test ID"
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_OP_ISSUER = provider.issuer
    for name in [*provider.endpoints(), "OIDC_OP_LOGOUT_ENDPOINT"]:
        setattr(settings, name, "")
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS,
        "supportdesk.sso.StaffOIDCBackend",
    ]
    settings.ROOT_URLCONF = "tests.sso.urls"
    return provider


def sso_sign_in(
    client: Client,
    provider: Provider,
    email: str,
    *,
    next_url: str = "",
    browser: httpx.Client | None = None,
) -> str:
    """Start at the site, sign in at the provider, come back: the site's callback URL
    (path and query) the provider sent the browser to."""
    start = client.get("/accounts/sso/start/" + (f"?next={next_url}" if next_url else ""))
    assert start.status_code == 302, start.content
    callback = urlsplit(provider.authorize(start["Location"], email, browser))
    assert (callback.scheme, callback.netloc, callback.path) == (
        "http",
        "testserver",
        "/accounts/sso/callback/",
    )
    return f"{callback.path}?{callback.query}"
