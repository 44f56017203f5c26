-- Feeds the traces table from every insert into spans. The inner query
-- renames start so the outer aliases do not shadow the column.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{.Database}}.traces_mv TO {{.Database}}.traces AS
SELECT
    trace_id,
    min(t) AS start,
    max(e) AS end,
    count() AS span_count,
    countIf(is_error) AS error_count,
    argMinState((service, name), (has_parent, t)) AS root,
    groupUniqArray(service) AS services,
    max(ingested_at) AS ingested
FROM
(
    SELECT
        trace_id,
        start AS t,
        addNanoseconds(start, duration_ns) AS e,
        status_code = 'error' AS is_error,
        toUInt8(parent_span_id != unhex('0000000000000000')) AS has_parent,
        service,
        name,
        ingested_at
    FROM {{.Database}}.spans
)
GROUP BY trace_id
