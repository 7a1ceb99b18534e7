"""Settings for the benchmark's server only (``bench/api.py`` sets
``DJANGO_SETTINGS_MODULE=bench.settings``): the production settings, with a URLconf that
adds the floor route. Production never imports this module."""

from supportdesk.settings import *  # noqa: F403

ROOT_URLCONF = "bench.floor_urls"
