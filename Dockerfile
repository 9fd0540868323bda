# The production image: gunicorn serves the app, the same image runs Celery's worker and beat.
FROM python:3.12-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CONN_MAX_AGE=600 \
    CONN_HEALTH_CHECKS=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# WeasyPrint's system libraries (Pango, HarfBuzz) and fonts for the PDFs.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core fonts-liberation \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, in their own layer, so code changes rebuild quickly.
COPY pyproject.toml ./
RUN python -c "import subprocess, sys, tomllib; \
deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; \
subprocess.check_call([sys.executable, '-m', 'pip', 'install', *deps])"

COPY . .
RUN pip install --no-deps -e . \
    && SECRET_KEY=collectstatic-only DEBUG=0 python manage.py collectstatic --no-input -v0 \
    && useradd --system --home-dir /app --shell /usr/sbin/nologin app \
    && mkdir -p /app/media \
    && chown app:app /app/media

USER app
EXPOSE 8000
# Two processes of four threads (WEB_WORKERS, WEB_THREADS): see contrib_budget/gunicorn.conf.py.
CMD ["gunicorn", "-c", "contrib_budget/gunicorn.conf.py", "contrib_budget.wsgi"]
