-- The inner query renames the byte columns so the outer aliases do not
-- shadow them.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{.Database}}.edge_minutes_mv TO {{.Database}}.edge_minutes AS
SELECT
    toStartOfMinute(t) AS minute,
    source,
    source_kind,
    target,
    target_kind,
    count() AS calls,
    sum(err) AS errors,
    quantilesState(0.5, 0.95, 0.99)(ms) AS duration,
    sumIf(req, req >= 0) AS request_bytes,
    countIf(req >= 0) AS request_sized,
    sumIf(resp, resp >= 0) AS response_bytes,
    countIf(resp >= 0) AS response_sized,
    uniqCombinedState(trace_id) AS traces
FROM
(
    SELECT start AS t, source, source_kind, target, target_kind, toUInt64(error) AS err,
           duration_ns / 1e6 AS ms, request_bytes AS req, response_bytes AS resp, trace_id
    FROM {{.Database}}.edge_calls
)
GROUP BY minute, source, source_kind, target, target_kind
