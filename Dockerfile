# msops production image: gunicorn (web), or the same image as a Celery
# worker / beat (see docker-compose.yml). Configuration comes from the
# environment; README.md lists every variable.
FROM python:3.11-slim

# PYTHONPATH: import the project from /app (templates/ and static/ live next
# to it) whichever program starts: gunicorn, celery or manage.py.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=msops.settings \
    MSOPS_VAR_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles

WORKDIR /app

RUN groupadd --system --gid 10001 msops \
    && useradd --system --uid 10001 --gid msops --home-dir /app --shell /usr/sbin/nologin msops

# WeasyPrint's system libraries (Pango, HarfBuzz) and a font, for the review
# pack's PDF (transitions/review_pack.py); without them the pack page says to
# print to PDF from the browser instead.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
        libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# Explicit copies (no development leftovers such as .venv/ or var/ in the image).
COPY pyproject.toml constraints.txt manage.py ./
COPY msops ./msops
COPY clients ./clients
COPY tickets ./tickets
COPY billing ./billing
COPY transitions ./transitions
COPY templates ./templates
COPY static ./static

RUN pip install -c constraints.txt . \
    && rm -rf build ./*.egg-info

# Hashed, compressed static files are part of the image; whitenoise serves them.
# The key only lets settings load for this one command; it is not kept.
RUN DEBUG=0 SECRET_KEY=build-time-only-not-a-secret python manage.py collectstatic --noinput \
    && rm -rf /app/var \
    && mkdir -p /app/var \
    && chown msops:msops /app/var

USER msops

EXPOSE 8000

CMD ["gunicorn", "msops.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
