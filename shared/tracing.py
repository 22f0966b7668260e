"""OpenTelemetry tracing: one trace from the gateway through a service, onto the bus and into every
consumer it reaches.

Off by default: without ``CUSTODY_OTLP_ENDPOINT`` no tracer provider is installed and every span is
OpenTelemetry's non-recording no-op (a context switch, no allocation of note). With it, spans are
sampled at ``CUSTODY_TRACE_SAMPLE_RATIO`` (parent-based: a request the gateway sampled is sampled
everywhere) and exported in batches over OTLP/HTTP. Across the bus the context travels in the
CloudEvents distributed-tracing extension (``traceparent``, W3C Trace Context), stored in the outbox
row with the event.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any

from fastapi.telemetry import TelemetryConfig
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shared.settings import Settings

_PROPAGATOR = TraceContextTextMapPropagator()
_tracer = trace.get_tracer("custody")
_installed: list[str] = []  # the service whose provider this process installed (one per process)

SERVER, CLIENT, PRODUCER, CONSUMER = SpanKind.SERVER, SpanKind.CLIENT, SpanKind.PRODUCER, SpanKind.CONSUMER


# FastAPI traces requests by itself once a provider exists; ours (RequestContextMiddleware) covers
# the gateway's raw-ASGI fast path too, so FastAPI keeps only its operation spans (dependencies,
# endpoint, serialization) under ours. Its metrics and logs: ours are Prometheus and structlog.
FASTAPI_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False, "auto_configure": False}


def configure_tracing(service: str, settings: Settings) -> bool:
    """Install the OTLP exporter for this process when an endpoint is set; True if tracing is on."""
    if not settings.otlp_endpoint:
        return bool(_installed)
    if _installed:  # a process has one global provider; a second app in it (tests) shares it
        return True
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    provider = TracerProvider(
        resource=Resource.create({"service.name": f"custody-{service}", "service.namespace": "custody"}),
        sampler=ParentBased(TraceIdRatioBased(settings.trace_sample_ratio)),
    )
    endpoint = settings.otlp_endpoint.rstrip("/") + "/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, timeout=5)))
    trace.set_tracer_provider(provider)
    _installed.append(service)
    return True


def enabled() -> bool:
    return bool(_installed)


def shutdown() -> None:
    """Flush what is batched (at process stop)."""
    provider = trace.get_tracer_provider()
    flush = getattr(provider, "shutdown", None)
    if callable(flush):
        flush()


@contextmanager
def span(name: str, *, kind: SpanKind, parent: Context | None = None, **attributes: Any) -> Iterator[Span]:
    with _tracer.start_as_current_span(name, context=parent, kind=kind, attributes=attributes) as current:
        yield current


def from_headers(headers: Mapping[str, str]) -> Context:
    return _PROPAGATOR.extract(headers)


def from_traceparent(traceparent: str | None) -> Context | None:
    return _PROPAGATOR.extract({"traceparent": traceparent}) if traceparent else None


def inject(headers: MutableMapping[str, str]) -> None:
    """Put the current span's ``traceparent`` into outgoing headers (when there is one)."""
    _PROPAGATOR.inject(headers)


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


def current_trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def instrument_engine(engine: Any) -> None:
    """Spans for the database statements of one engine (only when tracing is on: it costs)."""
    if enabled():
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        # skip_dep_check: its declared range stops below SQLAlchemy 2.1, whose engine events it uses unchanged
        SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine, enable_commenter=False, skip_dep_check=True)
