# One image for every component; the command picks which one runs.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
# WeasyPrint (the 一企一档 PDF) draws with pango, in a Chinese font
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
COPY gateway ./gateway
COPY cli ./cli
COPY devtools ./devtools
COPY portal ./portal
RUN pip install . && useradd --system --uid 10001 custody && mkdir -p /app/var && chown custody /app/var
USER custody
ENV CUSTODY_HOST=0.0.0.0 CUSTODY_DATA_DIR=/app/var
EXPOSE 8000 8001 8002 8003 8004 8005
# e.g. `services.registry.main:create_app`; each compose service overrides the command
CMD ["python", "-m", "uvicorn", "gateway.main:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000"]
