-- 003: percentiles in plain SQL. lattice_quantile answers the number the query API answers for
-- the same rollup rows: the estimator of src/pipeline/histogram/window-summary.ts
-- (`quantileOfRollups`), step for step, in the same order (a test compares them on PGlite and
-- PostgreSQL).
--
--   -- p99 per route over the last hour, in ms (one aggregate, any rollup table or query whose
--   -- rows have the columns unit_to_ms, layout, zero_count, bucket_offset, counts, min, max):
--   SELECT route, lattice_quantile(r, 0.99) AS p99_ms
--   FROM service_metrics_1m r
--   WHERE service_id = $1 AND minute >= now() - interval '1 hour'
--   GROUP BY route;
--
--   -- several percentiles from one merge:
--   SELECT route, lattice_quantile(h, 0.5) AS p50_ms, lattice_quantile(h, 0.99) AS p99_ms
--   FROM (SELECT route, lattice_merge(r) AS h FROM service_metrics_1m r WHERE … GROUP BY route) m;
--
-- Estimator (nearest rank: the value of rank ceil(q·n), at least 1):
-- * one explicit-bucket layout only → linear interpolation inside the bucket holding the rank
--   (error ≤ that bucket's width; the open first/last buckets are closed by the known min/max);
-- * otherwise one exponential histogram at scale S = min(6, smallest exponential scale) in one
--   working unit U (the unit of the exponential rows when they all share one, else ms): rows in U
--   merge exactly, other rows move each bucket's count to the U bucket of its representative
--   value. A bucket (γ^i, γ^(i+1)] answers 2γ^(i+1)/(γ+1), γ = 2^(2^−S): relative error
--   ≤ (γ−1)/(γ+1) = 0.54 % at S = 6. The answer is clamped to the rows' min/max.
-- Answers are in milliseconds; NULL when the rows hold no observations.

-- One (unit, layout) of merged rollup rows; an array of these is a merged histogram.
CREATE TYPE lattice_rollup_group AS (
  unit_to_ms double precision,
  layout text,
  zero_count bigint,
  bucket_offset int,
  counts bigint[],
  min double precision,
  max double precision
);

-- State of the lattice_quantile(row, q) aggregate.
CREATE TYPE lattice_quantile_state AS (q double precision, groups lattice_rollup_group[]);

-- Adds one rollup row into a merged histogram (the transition function of lattice_merge).
CREATE FUNCTION lattice_merge_step(state lattice_rollup_group[], p_unit_to_ms double precision, p_layout text,
  p_zero_count bigint, p_bucket_offset int, p_counts bigint[], p_min double precision, p_max double precision)
RETURNS lattice_rollup_group[] LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  g lattice_rollup_group;
  has_counts boolean := coalesce(array_length(p_counts, 1), 0) > 0;
BEGIN
  IF p_unit_to_ms IS NULL OR p_layout IS NULL THEN
    RETURN state;
  END IF;
  FOR i IN 1 .. coalesce(array_length(state, 1), 0) LOOP
    g := state[i];
    IF g.unit_to_ms = p_unit_to_ms AND g.layout = p_layout THEN
      g.zero_count := g.zero_count + coalesce(p_zero_count, 0);
      IF has_counts THEN
        IF coalesce(array_length(g.counts, 1), 0) = 0 THEN
          g.counts := p_counts;
          g.bucket_offset := p_bucket_offset;
        ELSE
          g.counts := lattice_add_counts(g.bucket_offset, g.counts, p_bucket_offset, p_counts);
          g.bucket_offset := least(g.bucket_offset, p_bucket_offset);
        END IF;
      END IF;
      g.min := least(g.min, p_min);
      g.max := greatest(g.max, p_max);
      state[i] := g;
      RETURN state;
    END IF;
  END LOOP;
  g := ROW(p_unit_to_ms, p_layout, coalesce(p_zero_count, 0), CASE WHEN has_counts THEN p_bucket_offset ELSE 0 END,
           CASE WHEN has_counts THEN p_counts ELSE '{}'::bigint[] END, p_min, p_max);
  RETURN coalesce(state, '{}'::lattice_rollup_group[]) || g;
END
$$;

-- lattice_merge(unit_to_ms, layout, zero_count, bucket_offset, counts, min, max): rollup columns →
-- merged histogram, for queries whose rows are not shaped like a rollup table.
CREATE AGGREGATE lattice_merge(double precision, text, bigint, int, bigint[], double precision, double precision) (
  SFUNC = lattice_merge_step,
  STYPE = lattice_rollup_group[]
);

CREATE FUNCTION lattice_merge_row_step(state lattice_rollup_group[], r anyelement)
RETURNS lattice_rollup_group[] LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN lattice_merge_step(state, r.unit_to_ms, r.layout, r.zero_count, r.bucket_offset, r.counts, r.min, r.max);
END
$$;

-- lattice_merge(r): whole rollup rows (service_metrics_1m r, or any row with the same columns)
-- → merged histogram.
CREATE AGGREGATE lattice_merge(anyelement) (
  SFUNC = lattice_merge_row_step,
  STYPE = lattice_rollup_group[]
);

-- The value reported for exponential bucket `idx` at `scale`: 2γ^(idx+1)/(γ+1), γ = 2^(2^−scale).
CREATE FUNCTION lattice_bucket_value(idx int, scale int)
RETURNS double precision LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT 2 * power(b, idx + 1) / (b + 1)
  FROM (SELECT power(2::float8, power(2::float8, -scale)) AS b) AS base
$$;

-- The exponential bucket index of a positive value: the i with γ^i < value ≤ γ^(i+1).
CREATE FUNCTION lattice_bucket_index(value double precision, scale int)
RETURNS int LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT (ceil(ln(value) / ln(2::float8) * power(2::float8, scale)) - 1)::int
$$;

-- The representative value (midpoint) of explicit bucket k (0-based), open ends closed by min/max.
CREATE FUNCTION lattice_explicit_bucket_value(bounds double precision[], k int, mn double precision, mx double precision)
RETURNS double precision LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  nb int := coalesce(array_length(bounds, 1), 0);
  lo double precision;
  hi double precision;
BEGIN
  lo := CASE WHEN k = 0 THEN coalesce(mn, least(0, coalesce(bounds[1], 0))) ELSE bounds[k] END;
  hi := CASE WHEN k = nb THEN coalesce(mx, bounds[k], lo) ELSE bounds[k + 1] END;
  IF mn IS NOT NULL AND lo < mn THEN lo := mn; END IF;
  IF mx IS NOT NULL AND hi > mx THEN hi := mx; END IF;
  RETURN CASE WHEN hi < lo THEN lo ELSE (lo + hi) / 2 END;
END
$$;

-- The q-quantile (0 ≤ q ≤ 1) in ms of a merged histogram; NULL when it holds no observations.
CREATE FUNCTION lattice_quantile(groups lattice_rollup_group[], q double precision)
RETURNS double precision LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  g lattice_rollup_group;
  bounds double precision[];
  nb int;
  total double precision := 0;
  rank double precision;
  seen double precision := 0;
  c double precision;
  lo double precision;
  hi double precision;
  s int := 6;
  unit double precision;
  n_units int;
  mn double precision;
  mx double precision;
  zeros double precision;
  idx int;
  idxs int[];
  ns double precision[];
  value double precision;
BEGIN
  IF q IS NULL OR groups IS NULL OR coalesce(array_length(groups, 1), 0) = 0 THEN
    RETURN NULL;
  END IF;
  IF NOT (q >= 0 AND q <= 1) THEN
    RAISE EXCEPTION 'lattice_quantile: q should be a number from 0 to 1, instead got ''%''', q
      USING ERRCODE = '22003', HINT = 'Pass 0.99 for the 99th percentile.';
  END IF;

  -- One explicit-bucket layout: interpolate inside the bucket (explicit.ts quantileExplicit).
  g := groups[1];
  IF array_length(groups, 1) = 1 AND g.layout LIKE 'explicit:%' THEN
    bounds := string_to_array(substr(g.layout, 10), ',')::double precision[];
    nb := coalesce(array_length(bounds, 1), 0);
    FOR k IN 0 .. nb LOOP
      total := total + coalesce(g.counts[k - g.bucket_offset + 1], 0);
    END LOOP;
    IF total = 0 THEN RETURN NULL; END IF;
    rank := greatest(1, ceil(q * total));
    FOR k IN 0 .. nb LOOP
      c := coalesce(g.counts[k - g.bucket_offset + 1], 0);
      IF c = 0 OR seen + c < rank THEN
        seen := seen + c;
        CONTINUE;
      END IF;
      lo := CASE WHEN k = 0 THEN coalesce(g.min, least(0, coalesce(bounds[1], 0))) ELSE bounds[k] END;
      hi := CASE WHEN k = nb THEN coalesce(g.max, bounds[k], lo) ELSE bounds[k + 1] END;
      IF g.min IS NOT NULL AND lo < g.min THEN lo := g.min; END IF;
      IF g.max IS NOT NULL AND hi > g.max THEN hi := g.max; END IF;
      IF hi < lo THEN hi := lo; END IF;
      RETURN (lo + ((hi - lo) * (rank - seen)) / c) * g.unit_to_ms;
    END LOOP;
    RETURN NULL;
  END IF;

  -- Otherwise one exponential histogram at scale s in one unit (window-summary.ts foldRollups).
  SELECT least(6, min(substr(x.layout, 13)::int)), count(DISTINCT x.unit_to_ms), min(x.unit_to_ms)
  INTO s, n_units, unit
  FROM unnest(groups) AS x WHERE x.layout LIKE 'exponential:%';
  s := coalesce(s, 6);
  IF n_units <> 1 THEN unit := 1; END IF;
  SELECT min(CASE WHEN x.unit_to_ms = unit THEN x.min ELSE x.min * x.unit_to_ms / unit END),
         max(CASE WHEN x.unit_to_ms = unit THEN x.max ELSE x.max * x.unit_to_ms / unit END)
  INTO mn, mx FROM unnest(groups) AS x;

  -- Merged buckets in index order; a NULL index is a representative value ≤ 0 (zero bucket).
  SELECT array_agg(m.idx ORDER BY m.idx), array_agg(m.n ORDER BY m.idx)
  INTO idxs, ns
  FROM (SELECT t.idx, sum(t.c) AS n
  FROM (
    SELECT CASE
             WHEN b.src_scale IS NOT NULL AND b.unit_to_ms = unit THEN floor(b.k / power(2::float8, b.src_scale - s))::int
             WHEN b.v > 0 THEN lattice_bucket_index(b.v, s)
           END AS idx,
           b.c
    FROM (
      SELECT e.src_scale, e.unit_to_ms, e.k, e.c,
             CASE
               WHEN e.src_scale IS NOT NULL AND e.unit_to_ms = unit THEN NULL
               WHEN e.src_scale IS NOT NULL THEN lattice_bucket_value(e.k, e.src_scale) * e.unit_to_ms / unit
               WHEN e.unit_to_ms = unit THEN lattice_explicit_bucket_value(e.bounds, e.k, e.min, e.max)
               ELSE lattice_explicit_bucket_value(e.bounds, e.k, e.min, e.max) * e.unit_to_ms / unit
             END AS v
      FROM (
        SELECT CASE WHEN x.layout LIKE 'exponential:%' THEN substr(x.layout, 13)::int END AS src_scale,
               CASE WHEN x.layout LIKE 'explicit:%' THEN string_to_array(substr(x.layout, 10), ',')::double precision[] END AS bounds,
               x.unit_to_ms, x.min, x.max, (x.bucket_offset + u.ord - 1)::int AS k, u.c::double precision AS c
        FROM unnest(groups) AS x, unnest(x.counts) WITH ORDINALITY AS u(c, ord)
        WHERE u.c <> 0
      ) AS e
      WHERE e.src_scale IS NOT NULL OR e.k BETWEEN 0 AND coalesce(array_length(e.bounds, 1), 0)
    ) AS b
  ) AS t
  GROUP BY t.idx) AS m;

  SELECT coalesce(sum(x.zero_count), 0) INTO zeros FROM unnest(groups) AS x;
  FOR i IN 1 .. coalesce(array_length(idxs, 1), 0) LOOP
    total := total + ns[i];
    IF idxs[i] IS NULL THEN zeros := zeros + ns[i]; END IF;
  END LOOP;
  total := total + (SELECT coalesce(sum(x.zero_count), 0) FROM unnest(groups) AS x);
  IF total = 0 THEN RETURN NULL; END IF;
  rank := greatest(1, ceil(q * total));
  IF rank <= zeros THEN
    value := 0;
  ELSE
    seen := zeros;
    FOR i IN 1 .. coalesce(array_length(idxs, 1), 0) LOOP
      CONTINUE WHEN idxs[i] IS NULL;
      seen := seen + ns[i];
      idx := idxs[i];
      EXIT WHEN seen >= rank;
    END LOOP;
    value := lattice_bucket_value(idx, s);
  END IF;
  IF mn IS NOT NULL AND value < mn THEN value := mn; END IF;
  IF mx IS NOT NULL AND value > mx THEN value := mx; END IF;
  RETURN value * unit;
END
$$;

CREATE FUNCTION lattice_quantile_step(state lattice_quantile_state, r anyelement, q double precision)
RETURNS lattice_quantile_state LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN ROW(q, lattice_merge_row_step((state).groups, r))::lattice_quantile_state;
END
$$;

CREATE FUNCTION lattice_quantile_final(state lattice_quantile_state)
RETURNS double precision LANGUAGE sql IMMUTABLE AS $$
  SELECT lattice_quantile(($1).groups, ($1).q)
$$;

-- lattice_quantile(r, q): the q-quantile in ms of whole rollup rows, as an aggregate
-- (`SELECT route, lattice_quantile(r, 0.99) FROM service_metrics_1m r WHERE … GROUP BY route`).
CREATE AGGREGATE lattice_quantile(anyelement, double precision) (
  SFUNC = lattice_quantile_step,
  STYPE = lattice_quantile_state,
  FINALFUNC = lattice_quantile_final
);
