-- Latency per service operation and minute, for the regression detector:
-- SERVER and CONSUMER spans only (their names are route templates, so the
-- cardinality stays that of the services' APIs).
CREATE TABLE IF NOT EXISTS {{.Database}}.operation_minutes
(
    minute   DateTime CODEC(DoubleDelta, ZSTD(1)),
    service  LowCardinality(String),
    name     LowCardinality(String),
    requests SimpleAggregateFunction(sum, UInt64),
    duration AggregateFunction(quantiles(0.5, 0.95, 0.99), Float64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toDate(minute)
ORDER BY (service, name, minute)
TTL minute + toIntervalSecond({{.TTLSeconds}})
SETTINGS non_replicated_deduplication_window = 1000
