-- Alert state history: the evaluator appends one row per pending or firing
-- alert per evaluation, and one row when an alert resolves (or a pending one
-- goes away). The latest row per key is the alert's current state, so the
-- state (and a rule's `for:` progress) survives restarts and is shared by
-- every instance. key identifies what the alert is about (rule + finding id,
-- rule + service, rule + edge); fingerprint is the hash of its labels.
-- Inserts carry a deduplication token per evaluation slot, so a slot
-- evaluated twice is stored once.
CREATE TABLE IF NOT EXISTS {{.Database}}.alert_states
(
    key          String,
    fingerprint  String,
    rule         LowCardinality(String),
    state        Enum8('pending' = 1, 'firing' = 2, 'resolved' = 3, 'inactive' = 4),
    labels       Map(LowCardinality(String), String),
    annotations  Map(LowCardinality(String), String),
    value        Float64,
    active_at    DateTime64(3),
    fired_at     DateTime64(3),
    resolved_at  DateTime64(3),
    evaluated_at DateTime64(3),
    instance     LowCardinality(String)
)
ENGINE = MergeTree
PARTITION BY toDate(evaluated_at)
ORDER BY (key, evaluated_at)
TTL toDateTime(evaluated_at) + toIntervalSecond({{.TTLSeconds}})
SETTINGS non_replicated_deduplication_window = 1000
