# One image for the portal (web, worker, beat) and the example Dagster pipeline.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY confops ./confops
COPY monitoring ./monitoring
COPY alerts ./alerts
COPY reports ./reports
RUN pip install --no-cache-dir ".[demo]"

COPY . .
RUN useradd --create-home --uid 1000 confops && mkdir -p /data && chown confops /data
USER confops
ENV CONFOPS_DATA_DIR=/data PYTHONPATH=/app/examples/confradar
EXPOSE 8000 3000
CMD ["gunicorn", "confops.wsgi:application", "--config", "confops/gunicorn_conf.py"]
