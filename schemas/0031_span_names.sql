-- The (service, span name, kind) triples seen per minute, fed by
-- span_names_mv from every insert into spans. The spans table is ordered by
-- time bucket and trace id, so listing a service's operations or the
-- services of a window from it would read every span of the window; this
-- table answers both from a few rows per operation and minute. spans counts
-- the spans (a retried insert is deduplicated with its token, as in the
-- other views).
CREATE TABLE IF NOT EXISTS {{.Database}}.span_names
(
    minute  DateTime CODEC(DoubleDelta, ZSTD(1)),
    service LowCardinality(String),
    name    LowCardinality(String),
    kind    Enum8('unspecified' = 0, 'internal' = 1, 'server' = 2, 'client' = 3, 'producer' = 4, 'consumer' = 5),
    spans   SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toDate(minute)
ORDER BY (service, minute, name, kind)
TTL minute + toIntervalSecond({{.TTLSeconds}})
SETTINGS non_replicated_deduplication_window = 1000
