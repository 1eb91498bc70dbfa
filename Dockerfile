# Zyst in a container: `docker build -t zyst .` then `docker run -p 6379:6379 zyst`.
#
# Two stages: the first compiles (the hot modules with mypyc, and any dependency without a
# wheel for this platform), the second holds Python, the wheels and nothing else.
FROM python:3.11-slim AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels zyst \
    && rm -rf /wheels \
    && useradd --system --home-dir /data --shell /usr/sbin/nologin zyst \
    && mkdir -p /data \
    && chown zyst:zyst /data
USER zyst
WORKDIR /data
VOLUME /data
EXPOSE 6379
# Every address, so that the published port reaches it; protected mode off as in Redis's
# official image (without a password it would refuse every client outside the container).
# Anything after the image name replaces this: `docker run zyst zyst --requirepass secret ...`.
CMD ["zyst", "--bind", "* -::*", "--protected-mode", "no", "--dir", "/data"]
