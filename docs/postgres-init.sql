-- Runs once when the compose PostgreSQL volume is created (docker-entrypoint-initdb.d).
-- askpro (POSTGRES_USER) owns the schemas and runs migrations; askpro_app is what web, worker and
-- beat connect as: a plain login without DDL, TRUNCATE or superuser rights. `manage.py
-- grant_app_role askpro_app` (the migrate service) grants it DML and default privileges.
-- Change the password in deployment.
CREATE ROLE askpro_app LOGIN PASSWORD 'askpro_app' NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
