# leadflow as a container: `docker build -t leadflow .`, then `docker run leadflow up`
# (or see docker-compose.yml for the whole stack with Kafka and PostgreSQL).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# Only what the package build needs: pyproject's package-dir maps these folders into
# `leadflow`. Copying `.` would also drag in a host .venv and local data.
COPY pyproject.toml README.md ./
COPY app ./app
COPY domain ./domain
COPY projections ./projections
COPY consumers ./consumers
COPY producers ./producers
RUN pip install . && rm -rf /src

# Unprivileged, with its data directory (the SQLite file when no database URL is set).
RUN useradd --system --create-home --home-dir /var/lib/leadflow leadflow
USER leadflow
WORKDIR /var/lib/leadflow
ENV LEADFLOW_DATA_DIR=/var/lib/leadflow/data \
    LEADFLOW_HTTP=0.0.0.0:8000
EXPOSE 8000

ENTRYPOINT ["leadflow"]
CMD ["up"]
