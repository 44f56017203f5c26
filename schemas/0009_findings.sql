-- Findings as observations: each analysis unit appends what it saw for each
-- finding id (occurrences, examples, first/last seen in that unit). The API
-- merges observations by id, so first_seen/last_seen/occurrences come out
-- right without updates, and several analyzers can write concurrently.
CREATE TABLE IF NOT EXISTS {{.Database}}.finding_observations
(
    id                String,
    kind              LowCardinality(String),
    service           LowCardinality(String),
    operation         String,
    peer              LowCardinality(String),
    peer_kind         LowCardinality(String),
    severity          LowCardinality(String),
    score             Float64,
    summary           String,
    evidence          String,
    occurrences       UInt64,
    example_trace_ids Array(FixedString(16)),
    first_seen        DateTime64(3),
    last_seen         DateTime64(3),
    detected_at       DateTime DEFAULT now()
)
ENGINE = MergeTree
PARTITION BY toDate(last_seen)
ORDER BY (kind, id, last_seen)
TTL toDateTime(last_seen) + toIntervalSecond({{.TTLSeconds}})
SETTINGS non_replicated_deduplication_window = 1000
