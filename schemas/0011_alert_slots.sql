-- Election of the alert evaluator, one per evaluation slot (the server time
-- truncated to alerting.evaluation_interval). Every instance whose loop
-- reaches a slot inserts a claim; after a short settle the earliest claim
-- (server time, then instance id) wins, and only the winner evaluates the
-- rules and decides on notifications for that slot. Same pattern as
-- analysis_units.
CREATE TABLE IF NOT EXISTS {{.Database}}.alert_slots
(
    slot     DateTime64(3),
    instance String,
    at       DateTime64(3) DEFAULT now64(3)
)
ENGINE = MergeTree
ORDER BY (slot, at)
TTL toDateTime(at) + toIntervalDay(2)
