-- One row per service-graph call, written by the analyzer once a trace is
-- assembled (a client/producer span matched with what it called, or a
-- virtual node for an uninstrumented peer). Kept briefly for inspection; the
-- map reads the per-minute aggregate edge_minutes.
CREATE TABLE IF NOT EXISTS {{.Database}}.edge_calls
(
    start          DateTime64(9) CODEC(DoubleDelta, ZSTD(1)),
    trace_id       FixedString(16) CODEC(ZSTD(1)),
    span_id        FixedString(8) CODEC(ZSTD(1)),
    source         LowCardinality(String),
    source_kind    LowCardinality(String),
    target         LowCardinality(String),
    target_kind    LowCardinality(String),
    operation      LowCardinality(String),
    duration_ns    Int64 CODEC(T64, ZSTD(1)),
    error          UInt8,
    request_bytes  Int64 CODEC(T64, ZSTD(1)),
    response_bytes Int64 CODEC(T64, ZSTD(1))
)
ENGINE = MergeTree
PARTITION BY toDate(start)
ORDER BY (source, target, start)
TTL toDateTime(start) + toIntervalDay(3)
SETTINGS non_replicated_deduplication_window = 1000, ttl_only_drop_parts = 1
