-- One row per trace after merges (several before): time range, span and
-- error counts, the root span (the parentless span, else the earliest) and
-- the services involved. Keyed by trace_id for the trace-by-id lookup, which
-- reads the time range here and then only the matching spans partitions.
-- ingested is the last arrival of a span of the trace (trace assembly).
CREATE TABLE IF NOT EXISTS {{.Database}}.traces
(
    trace_id    FixedString(16) CODEC(ZSTD(1)),
    start       SimpleAggregateFunction(min, DateTime64(9)),
    end         SimpleAggregateFunction(max, DateTime64(9)),
    span_count  SimpleAggregateFunction(sum, UInt64),
    error_count SimpleAggregateFunction(sum, UInt64),
    root        AggregateFunction(argMin, Tuple(LowCardinality(String), LowCardinality(String)), Tuple(UInt8, DateTime64(9))),
    services    SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
    ingested    SimpleAggregateFunction(max, DateTime),
    INDEX idx_ingested ingested TYPE minmax GRANULARITY 1
)
ENGINE = AggregatingMergeTree
PARTITION BY toDate(start)
ORDER BY trace_id
TTL toDateTime(start) + toIntervalSecond({{.TTLSeconds}})
SETTINGS non_replicated_deduplication_window = 1000, ttl_only_drop_parts = 1
