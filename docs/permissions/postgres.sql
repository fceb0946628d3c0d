-- Least-privilege role for sre.runbooks on PostgreSQL 15 (and managed services such as RDS,
-- Cloud SQL, Azure Database, where no superuser is available). See docs/permissions.md.
--
-- Run as a role that may create roles and grant these (a superuser, or rds_superuser /
-- cloudsqlsuperuser on a managed service), with psql and four variables:
--
--   psql -d platform -v ON_ERROR_STOP=1 -v role=sre_runbooks -v password='...' \
--        -v database=platform -v table_owner=platform_owner -f docs/permissions/postgres.sql
--
--   role         the login role the runbooks use (pg_vacuum, pg_backup, pg_backup_info,
--                the daily health check, db_maintenance)
--   password     its password (give the runbooks it through PGPASSWORD or vault)
--   database     the database the runbooks maintain and back up
--   table_owner  the role that owns that database's tables (the application's owner role)
--
-- Re-running it is safe: the role is created once, grants are idempotent.

-- 1. The login role: no superuser, no CREATEDB/CREATEROLE, no replication.
SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION', :'role')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'password';

-- 2. Reading statistics of every session, table and query (daily health check, pg_vacuum
--    report and thresholds, pg_stat_statements): pg_monitor includes pg_read_all_settings,
--    pg_read_all_stats and pg_stat_scan_tables; pg_read_all_stats is granted by name too, so
--    the grant stays visible if pg_monitor is ever narrowed.
GRANT pg_monitor TO :"role";
GRANT pg_read_all_stats TO :"role";

-- 3. Terminating idle sessions (pg_vacuum operation=terminate_sessions): pg_signal_backend lets
--    the role end sessions of non-superuser roles; superuser sessions are skipped with a warning.
GRANT pg_signal_backend TO :"role";

-- 4. Connecting to the maintained database.
GRANT CONNECT ON DATABASE :"database" TO :"role";

-- 5. VACUUM and ANALYZE need table ownership in PostgreSQL 15 (the MAINTAIN privilege and the
--    pg_maintain role exist only from PostgreSQL 17). Membership in the owner role gives that,
--    and it gives pg_dump the SELECT it needs for backups. NOINHERIT is not used: VACUUM checks
--    ownership through inherited membership.
GRANT :"table_owner" TO :"role";

-- 6. The slow-query part of the pg_vacuum report reads pg_stat_statements in the maintained
--    database (psql must be connected to it: -d platform). The module loads with
--    shared_preload_libraries (on RDS/Cloud SQL it is preloaded by default); without it the
--    report says why and the rest of the run is unaffected. Creating it is the admin's step.
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
