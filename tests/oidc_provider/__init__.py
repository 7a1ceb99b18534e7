"""A real OpenID provider for the single sign-on tests (tests/sso): a tiny Django project
on django-oauth-toolkit with OpenID Connect on, run as its own process on a free port with
its own SQLite file (tests/sso/conftest.py). Never imported by the test process itself."""
