# The service image: the API (default command), the consumer worker and the one-shot
# migration job of docker-compose.yml all run from it. A regular (not editable) install: the
# package, its migrations and its seeds live in site-packages; the sources are not kept. No
# `embedded` extra: the containers use the compose file's PostgreSQL and Kafka.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    API_HOST=0.0.0.0 API_PORT=8000
WORKDIR /build
COPY pyproject.toml ./
COPY service ./service
COPY seeds ./seeds
RUN pip install . && rm -rf /build && useradd --system --home /app enrolment
WORKDIR /app
USER enrolment
EXPOSE 8000
CMD ["python", "-m", "gunicorn", "-c", "python:service.entrypoints.api.gunicorn_conf", "service.entrypoints.api.wsgi:app"]
