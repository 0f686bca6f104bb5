# privatelink-operator: slim Python, the wheel installed with pinned dependencies, non-root.
#   docker build -t privatelink-operator:0.1.0 .
# tests/deploy/test_deploy_image.py repeats these steps without docker (wheel, clean venv, --help).

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator/ operator/
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements/constraints.txt /tmp/constraints.txt
COPY --from=build /wheels /tmp/wheels
RUN python -m pip install --constraint /tmp/constraints.txt /tmp/wheels/*.whl \
    && rm -rf /tmp/wheels /tmp/constraints.txt \
    && groupadd --system --gid 10001 operator \
    && useradd --system --uid 10001 --gid operator --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin operator
USER 10001:10001
# The health endpoint (--liveness) and the metrics (--metrics-port) the chart configures.
EXPOSE 8080 9090
ENTRYPOINT ["python", "-m", "privatelink_operator"]
CMD ["run", "--all-namespaces", "--liveness=http://0.0.0.0:8080/healthz", "--metrics-port=9090"]
