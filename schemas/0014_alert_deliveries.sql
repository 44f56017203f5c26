-- Every attempt to deliver a notification to a receiver, with its outcome:
-- success, retry (a transient error: 5xx, 429, timeout, connection refused)
-- or failed (a permanent error, or retries exhausted). Error texts are
-- redacted: receiver URLs and tokens never appear. Served by
-- GET /api/v1/alerts/deliveries.
CREATE TABLE IF NOT EXISTS {{.Database}}.alert_deliveries
(
    at          DateTime64(3) DEFAULT now64(3),
    receiver    LowCardinality(String),
    integration LowCardinality(String),
    group_key   String,
    seq         UInt64,
    status      LowCardinality(String),
    alerts      UInt32,
    attempt     UInt32,
    outcome     Enum8('success' = 1, 'retry' = 2, 'failed' = 3),
    http_status UInt16,
    error       String,
    duration_ms Float64,
    instance    String
)
ENGINE = MergeTree
PARTITION BY toDate(at)
ORDER BY (receiver, at)
TTL toDateTime(at) + toIntervalSecond({{.TTLSeconds}})
