# The service image: the API (default command), the consumer worker and the one-shot
# migration job of docker-compose.yml all run from it.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    API_HOST=0.0.0.0 API_PORT=8000
WORKDIR /app
COPY pyproject.toml README.md ./
COPY service ./service
COPY seeds ./seeds
COPY schemas ./schemas
RUN pip install -e . && useradd --system --home /app enrolment
USER enrolment
EXPOSE 8000
CMD ["python", "-m", "gunicorn", "-c", "python:service.entrypoints.api.gunicorn_conf", "service.entrypoints.api.wsgi:app"]
