FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.lock .
RUN pip install --no-cache-dir uv && uv pip install --system --no-cache -r requirements.lock
COPY . .
RUN useradd --create-home askpro && mkdir -p /data && chown askpro /data
USER askpro
ENV ASKPRO_DATA_DIR=/data DJANGO_SETTINGS_MODULE=askpro.settings
EXPOSE 8000
# The web server as `make run` runs it (askpro/webserver.py): Granian, 2 workers x 4 threads.
ENV GRANIAN_INTERFACE=wsgi GRANIAN_HOST=0.0.0.0 GRANIAN_PORT=8000 GRANIAN_WORKERS=2 \
    GRANIAN_BLOCKING_THREADS=4 GRANIAN_WEBSOCKETS=false GRANIAN_ACCESS_LOG=true
CMD ["granian", "askpro.wsgi:application"]
