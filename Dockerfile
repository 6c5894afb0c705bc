# catalogue-gateway: `docker build -t catalogue-gateway .`; docs/deployment.md has a compose file.
# Run: docker run -p 8000:8000 -v $PWD/deploy:/etc/catalogue-gateway:ro \
#        -v gateway-data:/var/lib/catalogue-gateway catalogue-gateway
#
# /etc/catalogue-gateway      gateway.yaml and policy.yaml: configuration, mounted read-only.
# /var/lib/catalogue-gateway  what the gateway writes: the audit log (and its rotated files),
#                             the embedded store. A volume: it must outlive the container.
#                             gateway.yaml names it as ${CATALOGUE_GATEWAY_DATA_DIR}.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CATALOGUE_GATEWAY_DATA_DIR=/var/lib/catalogue-gateway

WORKDIR /app
COPY pyproject.toml README.md ./
COPY schema ./schema
COPY connectors ./connectors
COPY gateway ./gateway
# `catalogue-gateway demo` serves the simulated platforms from this package.
COPY simulators ./simulators
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin gateway \
    && mkdir -p /etc/catalogue-gateway /var/lib/catalogue-gateway \
    && chown gateway /var/lib/catalogue-gateway

USER gateway
VOLUME ["/var/lib/catalogue-gateway"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"]

# The config's server.host must be 0.0.0.0 inside a container; --host overrides it here.
CMD ["catalogue-gateway", "serve", "--config", "/etc/catalogue-gateway/gateway.yaml", "--host", "0.0.0.0", "--port", "8000"]
