-- 006: projects (tenants), their keys, and row-level security (docs/tenancy.md).
--
-- Every row belongs to one project through its service: services.project_id, and every table with
-- a service_id column is visible only where that service's project is the current one. The
-- receiver's API reads run as the role lattice_reader with `lattice.project_id` set for the
-- transaction (tenancy/with-project.ts); the writer keeps the owner role, which RLS does not limit
-- (a flush holds rows of several projects; it takes the project from the authenticated key).
--
-- Later migrations that add a table with a service_id column call
--   SELECT lattice_protect_table('my_table');
-- which enables RLS on it with the same policy and lets lattice_reader read it.

CREATE TABLE projects (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);
-- id 1: where everything goes in open mode (no keys), and where every row written before 006 lives.
INSERT INTO projects (name) VALUES ('default');

-- Only the SHA-256 of a key is stored; key_prefix (its first 16 characters, e.g. "lat_ingest_AbCd")
-- is what lists show and what `keys revoke` accepts.
CREATE TABLE api_keys (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  project_id bigint NOT NULL REFERENCES projects (id),
  kind text NOT NULL CHECK (kind IN ('ingest', 'read')),
  label text,
  key_prefix text NOT NULL,
  key_hash bytea NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  last_used_at timestamptz
);
CREATE INDEX api_keys_project_idx ON api_keys (project_id);

-- Service ids stay global (every table keyed by service_id keeps its key); names are per project.
ALTER TABLE services ADD COLUMN project_id bigint NOT NULL DEFAULT 1 REFERENCES projects (id);
ALTER TABLE services DROP CONSTRAINT services_name_key;
ALTER TABLE services ADD CONSTRAINT services_project_name_key UNIQUE (project_id, name);

-- The role API reads run as. Roles are cluster-wide while each test (and each deployment) has its
-- own schema, and migrations of several schemas may run at once: create it only if missing, and
-- let a concurrent creator win.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lattice_reader') THEN
    CREATE ROLE lattice_reader NOLOGIN;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END $$;

-- The receiver's own login must be able to SET ROLE lattice_reader (a superuser always can).
DO $$
BEGIN
  IF NOT pg_has_role(current_user, 'lattice_reader', 'MEMBER') THEN
    EXECUTE format('GRANT lattice_reader TO %I', current_user);
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END $$;

-- SQL users (Grafana, psql) pinned to one project: a login role listed here sees that project
-- only, whatever it SETs (docs/tenancy.md). Each login sees its own row only.
CREATE TABLE lattice_sql_grants (
  role_name name PRIMARY KEY,
  project_id bigint NOT NULL REFERENCES projects (id),
  created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE lattice_sql_grants ENABLE ROW LEVEL SECURITY;
CREATE POLICY lattice_sql_grants_own ON lattice_sql_grants USING (role_name = session_user);

-- The project whose rows the session may read:
--   1. the grant of the session's login role, when it has one — SET ROLE does not change
--      session_user, and SET SESSION AUTHORIZATION needs a superuser, so a granted login cannot
--      switch project;
--   2. else, only for a login that owns the tables (the receiver's own, which ran the migrations),
--      the transaction setting lattice.project_id (tenancy/with-project.ts);
--   3. else NULL → no rows. Any other login sees nothing, whatever it SETs.
CREATE FUNCTION lattice_current_project() RETURNS bigint LANGUAGE sql STABLE AS $$
  SELECT coalesce(
    (SELECT g.project_id FROM lattice_sql_grants g WHERE g.role_name = session_user),
    CASE WHEN pg_has_role(session_user, (SELECT c.relowner FROM pg_class c WHERE c.oid = 'services'::regclass), 'MEMBER')
      THEN nullif(current_setting('lattice.project_id', true), '')::bigint END)
$$;
-- A function body is parsed at call time with the caller's search_path: pin it to this schema so
-- a SQL user cannot shadow lattice_sql_grants with a temporary table of their own.
DO $$
BEGIN
  EXECUTE format('ALTER FUNCTION lattice_current_project() SET search_path = %I, pg_catalog, pg_temp', current_schema());
END $$;

-- Enables RLS on a table with a service_id column, with the policy "the row's service belongs to
-- the current project", and lets lattice_reader SELECT from it. Idempotent.
-- The service ids are an uncorrelated ARRAY(subquery): one InitPlan per query, usable as an index
-- condition, instead of a lookup per row.
CREATE FUNCTION lattice_protect_table(p_table regclass) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  ns text := (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = p_table);
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', p_table);
  IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = p_table AND polname = 'lattice_project_isolation') THEN
    EXECUTE format('CREATE POLICY lattice_project_isolation ON %s USING (service_id = ANY (ARRAY('
      'SELECT s.id FROM %I.services s WHERE s.project_id = %I.lattice_current_project())))', p_table, ns, ns);
  END IF;
  EXECUTE format('GRANT SELECT ON %s TO lattice_reader', p_table);
END $$;

ALTER TABLE services ENABLE ROW LEVEL SECURITY;
CREATE POLICY lattice_project_isolation ON services USING (project_id = lattice_current_project());
ALTER TABLE projects ENABLE ROW LEVEL SECURITY;
CREATE POLICY lattice_project_isolation ON projects USING (id = lattice_current_project());

SELECT lattice_protect_table('service_metrics');
SELECT lattice_protect_table('service_metrics_1m');
SELECT lattice_protect_table('service_metrics_5m');
SELECT lattice_protect_table('service_metrics_1h');
SELECT lattice_protect_table('service_routes');
SELECT lattice_protect_table('spans');

-- lattice_reader reads through RLS only; api_keys, metric_streams and lattice_migrations stay the
-- owner's. lattice_rollup_watermarks holds no tenant data (lattice_rollups() reads it).
DO $$
BEGIN
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO lattice_reader', current_schema());
END $$;
GRANT SELECT ON services, projects, lattice_rollup_watermarks, lattice_sql_grants TO lattice_reader;
