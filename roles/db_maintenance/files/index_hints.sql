-- Missing-index hints (the MPH runbook's pg_stats query, made actionable): columns with many
-- distinct values and little physical order, on tables read mostly by sequential scans,
-- that are not the leading column of any index. Parameters: min n_distinct, max abs(correlation),
-- min seq_scan, in that order. A negative n_distinct is a fraction of the rows, so it is scaled.
SELECT s.schemaname AS schema, s.tablename AS table, s.attname AS column,
       round((CASE WHEN s.n_distinct < 0 THEN -s.n_distinct * t.n_live_tup ELSE s.n_distinct END)::numeric, 0)
         AS distinct_values,
       round(s.correlation::numeric, 3) AS correlation, t.seq_scan, coalesce(t.idx_scan, 0) AS idx_scan,
       t.n_live_tup AS live_rows
FROM pg_stats s
JOIN pg_stat_user_tables t ON t.schemaname = s.schemaname AND t.relname = s.tablename
WHERE (CASE WHEN s.n_distinct < 0 THEN -s.n_distinct * t.n_live_tup ELSE s.n_distinct END) > %s
  AND abs(coalesce(s.correlation, 0)) < %s
  AND t.seq_scan >= %s
  AND t.seq_scan > coalesce(t.idx_scan, 0)
  AND NOT EXISTS (
    SELECT 1 FROM pg_index i
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
    WHERE i.indrelid = format('%%I.%%I', s.schemaname, s.tablename)::regclass AND a.attname = s.attname)
ORDER BY t.seq_scan DESC, distinct_values DESC
LIMIT 20
