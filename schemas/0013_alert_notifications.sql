-- Notification log, one sequence per (receiver, group). Notification seq N+1
-- of a group is claimed by inserting a 'claimed' row; after a settle the
-- earliest live claim (server time, then instance id; live = younger than
-- the delivery lease) wins and only the winner sends it. The winner renews
-- its claim before each retry and appends 'delivered' or 'failed' (with what
-- it sent: the fingerprints notified as firing and the alerts as JSON).
-- 'closed' ends a group without sending (receivers with send_resolved off).
-- A claim that expires without an outcome (crashed instance) is claimed
-- again by the next evaluation.
CREATE TABLE IF NOT EXISTS {{.Database}}.alert_notifications
(
    receiver  LowCardinality(String),
    group_key String,
    seq       UInt64,
    state     Enum8('claimed' = 1, 'delivered' = 2, 'failed' = 3, 'closed' = 4),
    instance  String,
    at        DateTime64(3) DEFAULT now64(3),
    status    LowCardinality(String),
    firing    Array(String),
    alerts    String,
    error     String
)
ENGINE = MergeTree
ORDER BY (receiver, group_key, seq, at)
TTL toDateTime(at) + toIntervalSecond({{.TTLSeconds}})
