# syntax=docker/dockerfile:1
# The platform's image: the official Apache Airflow image of the pinned Airflow version, with
# this repository's locked environment (uv.lock, installed by scripts/setup.sh, the script
# `make setup` runs), DAGs, plugin, dbt project with its manifest built here, expectation
# suites and governance policy. Used by helm/values.yaml.
#
#   docker build -t scrollintel-dataops:$(git rev-parse --short HEAD) .
#
# The base tag must name the Airflow version pinned in pyproject.toml (a test checks it); pin
# its digest too when your registry mirrors it (FROM apache/airflow:<tag>@sha256:<digest>).
FROM apache/airflow:3.3.2-python3.11

ENV SCROLLINTEL_PROJECT_ROOT=/opt/scrollintel \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    PYTHONDONTWRITEBYTECODE=1

USER root
RUN mkdir -p /opt/scrollintel && chown airflow:0 /opt/scrollintel
USER airflow
WORKDIR /opt/scrollintel

# 1. the locked third-party packages (a layer that changes only with uv.lock)
COPY --chown=airflow:0 pyproject.toml uv.lock README.md ./
COPY --chown=airflow:0 scripts/setup.sh scripts/setup.sh
RUN SCROLLINTEL_UV_SYNC_ARGS="--no-dev --no-install-project" scripts/setup.sh

# 2. the project: the scrollintel package, DAGs, plugin, dbt, expectations, governance
COPY --chown=airflow:0 include/ include/
COPY --chown=airflow:0 dags/ dags/
COPY --chown=airflow:0 plugins/ plugins/
COPY --chown=airflow:0 dbt/ dbt/
COPY --chown=airflow:0 expectations/ expectations/
COPY --chown=airflow:0 governance/ governance/
RUN SCROLLINTEL_UV_SYNC_ARGS="--no-dev --no-editable" scripts/setup.sh

ENV PATH=/opt/scrollintel/.venv/bin:$PATH \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/scrollintel/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/scrollintel/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    SCROLLINTEL_HOME=/opt/airflow/scrollintel \
    SCROLLINTEL_DBT_STATE_DIR=/opt/scrollintel/dbt-state

# 3. the dbt manifest, parsed without a database, so no task parses dbt at run time
RUN scrollintel validate && scrollintel transform manifest --state-dir /opt/scrollintel/dbt-state

USER airflow
