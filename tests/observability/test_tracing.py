"""One trace from the gateway through a service, onto the bus and into its consumers (issue #21
item 1): the platform's real processes export their spans over OTLP/HTTP to a real receiver in the
test (the OpenTelemetry protocol's protobuf messages), and one filing review is followed across
the gateway, contracts, the relay and the consumers in audit, registry and enterprises."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from devtools.testing.otlp import OtlpReceiver
from devtools.testing.platform import started_platform
from devtools.testing.wait import eventually
from tests.story import filed_contract


@pytest.fixture
async def receiver():
    server = OtlpReceiver()
    await server.start()
    yield server
    await server.stop()


async def test_one_filing_review_is_one_trace_across_the_platform(backend, receiver, tmp_path, monkeypatch):
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")  # export every 100 ms, not every 5 s
    settings = backend.settings(otlp_endpoint=receiver.url, trace_sample_ratio=1.0)
    async with started_platform(settings, tmp_path / "logs") as p:
        bureau = await p.actor("bureau", district="440703")
        contract = await filed_contract(p, bureau.headers)
        path = f"/api/v1/contracts/{contract.id}/filing-review"
        r = await p.client.post(path, json={"decision": "accept", "comments": "同意备案"}, headers=bureau.headers)
        assert r.status_code == 200, r.text

        def request_trace() -> str | None:
            return next(
                (
                    s.trace_id
                    for s in receiver.spans
                    if s.service == "custody-gateway"
                    and s.kind == Span.SPAN_KIND_SERVER
                    and s.attributes.get("url.path") == path
                ),
                None,
            )

        trace_id = await eventually(request_trace, timeout=20)

        def consumers_in_trace() -> set[str] | None:
            services = {
                s.service for s in receiver.spans if s.trace_id == trace_id and s.kind == Span.SPAN_KIND_CONSUMER
            }
            wanted = {"custody-audit", "custody-registry", "custody-enterprises"}
            return services if wanted <= services else None

        await eventually(consumers_in_trace, timeout=20)
        await asyncio.sleep(0.3)  # the last batches

    spans = [s for s in receiver.spans if s.trace_id == trace_id]
    by_id = {s.span_id: s for s in spans}
    kinds = defaultdict(set)
    for s in spans:
        kinds[s.service].add(s.kind)
    gateway = next(s for s in spans if s.service == "custody-gateway" and s.kind == Span.SPAN_KIND_SERVER)
    contracts = next(s for s in spans if s.service == "custody-contracts" and s.kind == Span.SPAN_KIND_SERVER)
    assert contracts.parent_id == gateway.span_id  # the gateway's traceparent reached the service
    assert contracts.attributes["http.route"] == "/api/v1/contracts/{contract_id}/filing-review"
    assert contracts.attributes["http.response.status_code"] == 200
    publishes = [s for s in spans if s.kind == Span.SPAN_KIND_PRODUCER and s.service == "custody-contracts"]
    assert publishes and all(s.attributes["messaging.system"] == "nats" for s in publishes)
    published = {s.name.removeprefix("publish ") for s in spans if s.kind == Span.SPAN_KIND_PRODUCER}
    assert Span.SPAN_KIND_CLIENT in kinds["custody-contracts"]  # its database statements
    for consumer in (s for s in spans if s.kind == Span.SPAN_KIND_CONSUMER):
        # each consumer's span hangs off the request that wrote the event (carried in traceparent)
        parent = by_id.get(consumer.parent_id)
        assert parent is not None, consumer
        assert parent.service in ("custody-contracts", "custody-gateway") or parent.kind == Span.SPAN_KIND_CONSUMER
        assert consumer.name.removeprefix("process ") in published  # an event this request caused
