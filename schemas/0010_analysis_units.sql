-- Coordination of analyzers across collector instances. Work is cut into
-- units (an ingestion window of a few seconds × a trace-id shard). An
-- instance claims a unit by inserting a 'claimed' row; the earliest claim
-- (server time, then instance id) wins; the winner appends 'done'. Claims
-- expire after a lease, so a crashed instance's unit is picked up again.
CREATE TABLE IF NOT EXISTS {{.Database}}.analysis_units
(
    window_start DateTime,
    shard        UInt16,
    instance     String,
    state        Enum8('claimed' = 1, 'done' = 2),
    at           DateTime64(3) DEFAULT now64(3)
)
ENGINE = MergeTree
ORDER BY (window_start, shard, at)
TTL toDateTime(at) + toIntervalDay(2)
