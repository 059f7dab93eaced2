-- Run once by the postgres image when docker-compose.yml creates its volume
-- (/docker-entrypoint-initdb.d). The image itself creates the superuser role apibench
-- and its database apibench (POSTGRES_USER/POSTGRES_DB); this adds what scripts/services
-- creates for the private instance: the servers' and the worker's roles, and
-- pg_stat_statements. The seeder grants these roles privileges on its tables.
CREATE ROLE apibench_app LOGIN;
CREATE ROLE apibench_worker LOGIN;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
