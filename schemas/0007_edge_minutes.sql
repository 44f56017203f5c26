-- Service-graph edges per minute: calls, errors, latency quantile states,
-- payload sums (only calls with a known size count towards the averages)
-- and a distinct-trace state for calls per trace. Merging minutes merges the
-- states, so a 24-hour map is exact in counts and correct in percentiles.
CREATE TABLE IF NOT EXISTS {{.Database}}.edge_minutes
(
    minute          DateTime CODEC(DoubleDelta, ZSTD(1)),
    source          LowCardinality(String),
    source_kind     LowCardinality(String),
    target          LowCardinality(String),
    target_kind     LowCardinality(String),
    calls           SimpleAggregateFunction(sum, UInt64),
    errors          SimpleAggregateFunction(sum, UInt64),
    duration        AggregateFunction(quantiles(0.5, 0.95, 0.99), Float64),
    request_bytes   SimpleAggregateFunction(sum, Int64),
    request_sized   SimpleAggregateFunction(sum, UInt64),
    response_bytes  SimpleAggregateFunction(sum, Int64),
    response_sized  SimpleAggregateFunction(sum, UInt64),
    traces          AggregateFunction(uniqCombined, FixedString(16))
)
ENGINE = AggregatingMergeTree
PARTITION BY toDate(minute)
ORDER BY (source, target, source_kind, target_kind, minute)
TTL minute + toIntervalSecond({{.TTLSeconds}})
SETTINGS non_replicated_deduplication_window = 1000
