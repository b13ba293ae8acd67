-- A table of random rows in memory, an index built over it, and a sort of
-- the whole table on a column with no index (the sorter's memory).
CREATE TABLE t(a INTEGER, b TEXT, c REAL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 200000)
INSERT INTO t SELECT abs(random()) % 1000000, hex(randomblob(12)), random() / 7.0 FROM n;
CREATE INDEX t_b ON t(b, a);
SELECT count(*), sum(length(b)) FROM (SELECT b FROM t ORDER BY c);
SELECT count(DISTINCT b) FROM t;
