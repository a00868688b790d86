# The production image: web (gunicorn), RQ worker and scheduler share it.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 COSMOS_INSTANCE_PATH=/data/instance
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm curl && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY setup.cfg pyproject.toml README.md ./
COPY marketplace ./marketplace
COPY matching ./matching
COPY search ./search
COPY workers ./workers
COPY migrations ./migrations
COPY wsgi.py gunicorn.conf.py Makefile ./
COPY package.json package-lock.json ./
COPY scripts ./scripts
# sentence-transformers for EMBEDDING_MODEL; pass --build-arg PIP_EXTRA_INDEX_URL=<a CPU PyTorch index> for a small image.
ARG PIP_EXTRA_INDEX_URL=
RUN pip install -e ".[embeddings]" \
 && if [ -f package.json ]; then npm ci --no-audit --no-fund && npm run build && rm -rf node_modules; fi
RUN useradd --create-home --uid 10001 cosmos && mkdir -p /data/instance && chown -R cosmos /data
USER cosmos
EXPOSE 8000
# gunicorn.conf.py: bind 0.0.0.0:8000, 4 workers (WEB_CONCURRENCY), request limits, problem+json for its own errors
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
