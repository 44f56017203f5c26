-- RED metrics per service and minute, fed directly from spans. A request is a
-- SERVER or CONSUMER span, or a root span of any kind. Durations are kept as
-- quantile states so percentiles merge correctly across minutes.
CREATE TABLE IF NOT EXISTS {{.Database}}.service_minutes
(
    minute   DateTime CODEC(DoubleDelta, ZSTD(1)),
    service  LowCardinality(String),
    requests SimpleAggregateFunction(sum, UInt64),
    errors   SimpleAggregateFunction(sum, UInt64),
    duration AggregateFunction(quantiles(0.5, 0.95, 0.99), Float64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toDate(minute)
ORDER BY (service, minute)
TTL minute + toIntervalSecond({{.TTLSeconds}})
SETTINGS non_replicated_deduplication_window = 1000
