-- 005: bucket merges that read each array once and never allocate the range between far-apart
-- offsets.
--
-- lattice_add_counts (001) ran a generate_series over the whole index range between the two
-- arrays and subscripted both arrays per index: offsets 2^30 apart allocated 2^30 buckets (the
-- writer stalled for 48 s), and each subscript of a stored (TOASTed) array detoasted it again
-- (6.2 ms per call on a stored 300-bucket array, 0.7 ms in memory). Now: PL/pgSQL, whose array
-- arguments are expanded once on entry, so a[k] is O(1); the result is one array_fill plus one
-- pass over each input (bench/add-counts). The result is bounded: when it would hold more than
-- max(4096, length(a) + length(b)) buckets it raises (SQLSTATE 54000) instead of allocating. The
-- writer downscales before it stores (pipeline/rollup.ts fitToStoredRows, MAX_EXPONENTIAL_BUCKETS
-- = 4096), so this only fires when two flushes race on one rollup row; the retried flush fits.
--
-- An empty side no longer widens the range (001 padded zeros down to an empty side's offset): the
-- result is the other array unchanged, as in mergeExponential; the rollup upsert keeps the other
-- side's bucket_offset for it (store/queries/rollups.ts).
CREATE OR REPLACE FUNCTION lattice_add_counts(a_offset int, a bigint[], b_offset int, b bigint[])
RETURNS bigint[] LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  na int := coalesce(array_length(a, 1), 0);
  nb int := coalesce(array_length(b, 1), 0);
  lo bigint;
  hi bigint;
  r bigint[];
  j bigint;
BEGIN
  IF (na > 0 AND a_offset IS NULL) OR (nb > 0 AND b_offset IS NULL) OR na + nb = 0 THEN
    RETURN '{}';
  END IF;
  IF na = 0 THEN lo := b_offset; hi := b_offset::bigint + nb - 1;
  ELSIF nb = 0 THEN lo := a_offset; hi := a_offset::bigint + na - 1;
  ELSE
    lo := least(a_offset, b_offset);
    hi := greatest(a_offset::bigint + na, b_offset::bigint + nb) - 1;
  END IF;
  IF hi - lo + 1 > greatest(4096, na + nb) THEN
    RAISE EXCEPTION 'lattice_add_counts: merged buckets should span at most % buckets, instead got ''%''',
      greatest(4096, na + nb), hi - lo + 1
      USING ERRCODE = '54000',
            HINT = 'Downscale one side first (the writer does: pipeline/rollup.ts fitToStoredRows); a retried flush fits.';
  END IF;
  r := array_fill(0::bigint, ARRAY[(hi - lo + 1)::int]);
  j := a_offset::bigint - lo;
  FOR k IN 1 .. na LOOP
    r[j + k] := coalesce(a[k], 0);
  END LOOP;
  j := b_offset::bigint - lo;
  FOR k IN 1 .. nb LOOP
    r[j + k] := r[j + k] + coalesce(b[k], 0);
  END LOOP;
  RETURN r;
END
$$;

-- lattice_merge_step (003) with the same bound: a row whose buckets lie too far from a group of
-- its (unit, layout) — more than max(4096, both lengths) buckets together — joins the next such
-- group it fits, or becomes a group of its own. lattice_quantile already merges any number of
-- groups per layout sparsely (by bucket index), so answers do not change; only the allocation is
-- bounded (by the input's size).
CREATE OR REPLACE FUNCTION lattice_merge_step(state lattice_rollup_group[], p_unit_to_ms double precision, p_layout text,
  p_zero_count bigint, p_bucket_offset int, p_counts bigint[], p_min double precision, p_max double precision)
RETURNS lattice_rollup_group[] LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  g lattice_rollup_group;
  np int := coalesce(array_length(p_counts, 1), 0);
  ng int;
  has_counts boolean := np > 0;
BEGIN
  IF p_unit_to_ms IS NULL OR p_layout IS NULL THEN
    RETURN state;
  END IF;
  FOR i IN 1 .. coalesce(array_length(state, 1), 0) LOOP
    g := state[i];
    IF g.unit_to_ms = p_unit_to_ms AND g.layout = p_layout THEN
      ng := coalesce(array_length(g.counts, 1), 0);
      CONTINUE WHEN has_counts AND ng > 0 AND
        greatest(g.bucket_offset::bigint + ng, p_bucket_offset::bigint + np) - least(g.bucket_offset, p_bucket_offset)
          > greatest(4096, ng + np);
      g.zero_count := g.zero_count + coalesce(p_zero_count, 0);
      IF has_counts THEN
        IF ng = 0 THEN
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
