-- Every span, one row each. Ordered by service and operation so that spans of
-- the same kind sit together (they compress well and the per-operation scans
-- of the analysis read few granules); trace-by-id lookups go through the
-- traces table (time range) plus the bloom-filter index on trace_id.
-- Non-string attribute values are JSON-encoded in the typed_* maps.
-- non_replicated_deduplication_window lets a retried batch (same
-- insert_deduplication_token) be dropped instead of stored twice.
-- index_granularity 2048 (not 8192): a trace's spans sit in a few granules
-- (one per service/operation), so smaller granules cut what a trace-by-id
-- lookup reads fourfold, for a primary index four times as large.
-- ingested_at (server time of the insert) drives trace assembly: a trace is
-- analysed once no span of it has arrived for the idle window.
CREATE TABLE IF NOT EXISTS {{.Database}}.spans
(
    trace_id                  FixedString(16) CODEC(ZSTD(1)),
    span_id                   FixedString(8) CODEC(ZSTD(1)),
    parent_span_id            FixedString(8) CODEC(ZSTD(1)),
    trace_state               String CODEC(ZSTD(1)),
    service                   LowCardinality(String),
    name                      LowCardinality(String),
    kind                      Enum8('unspecified' = 0, 'internal' = 1, 'server' = 2, 'client' = 3, 'producer' = 4, 'consumer' = 5),
    start                     DateTime64(9) CODEC(DoubleDelta, ZSTD(1)),
    duration_ns               Int64 CODEC(T64, ZSTD(1)),
    status_code               Enum8('unset' = 0, 'ok' = 1, 'error' = 2),
    status_message            String CODEC(ZSTD(1)),
    scope_name                LowCardinality(String),
    scope_version             LowCardinality(String),
    resource_attributes       Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    resource_typed_attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    attributes                Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    typed_attributes          Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    events                    Nested(time DateTime64(9), name LowCardinality(String), attributes String) CODEC(ZSTD(1)),
    links                     Nested(trace_id FixedString(16), span_id FixedString(8), trace_state String, attributes String) CODEC(ZSTD(1)),
    dropped_attributes_count  UInt32 CODEC(T64, ZSTD(1)),
    dropped_events_count      UInt32 CODEC(T64, ZSTD(1)),
    dropped_links_count       UInt32 CODEC(T64, ZSTD(1)),
    ingested_at               DateTime DEFAULT now() CODEC(DoubleDelta, ZSTD(1)),
    INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1
)
ENGINE = MergeTree
PARTITION BY toDate(start)
ORDER BY (service, name, start)
TTL toDateTime(start) + toIntervalSecond({{.TTLSeconds}})
SETTINGS non_replicated_deduplication_window = 1000, ttl_only_drop_parts = 1, index_granularity = 2048
