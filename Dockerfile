# syntax=docker/dockerfile:1
# Build stage: wheels for the project's dependencies.
FROM python:3.12-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
RUN python -m venv /venv && /venv/bin/pip install --upgrade pip \
 && /venv/bin/pip install .

# Runtime stage: the virtualenv and the code, run as an unprivileged user.
FROM python:3.12-slim AS runtime
ENV PATH=/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=supportdesk.settings SUPPORTDESK_DATA_DIR=/var/lib/supportdesk
RUN apt-get update && apt-get install -y --no-install-recommends gettext \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app supportdesk \
 && mkdir -p /var/lib/supportdesk && chown supportdesk /var/lib/supportdesk
COPY --from=build /venv /venv
WORKDIR /app
COPY --chown=supportdesk . .
# collectstatic needs settings but no secrets of the real deployment.
RUN DJANGO_ENV=development python manage.py collectstatic --no-input \
 && chown -R supportdesk /var/lib/supportdesk
USER supportdesk
EXPOSE 8000
# Health checks are per service in docker-compose.yml: web, worker and beat share this image.
# gunicorn.conf.py (bind, workers, metrics directory) is read from the working directory.
CMD ["gunicorn", "supportdesk.wsgi:application"]
