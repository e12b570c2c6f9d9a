"""A per-tenant token that changes whenever anything the availability engine reads as "the
schedule" changes: branches, staff (and whom they serve where), services and their segments,
working hours, overrides.

Statement-level triggers write a fresh random token on every INSERT, UPDATE, DELETE or TRUNCATE
of those tables, whoever writes (services, admin, bulk operations, raw SQL). The engine keeps a
snapshot of the schedule per process and reads the token in the same query as the busy times;
a different token means "load the schedule again". A token is random, never a counter, so a
rolled-back change can never leave a token that a later, different change reuses.

The function lives in ``public`` (created idempotently by each tenant migration) and addresses
the table through ``TG_TABLE_SCHEMA``, like the segment triggers of 0003.
"""

from django.db import migrations

WATCHED_TABLES = (
    "appointments_branch",
    "appointments_service",
    "appointments_servicesegment",
    "appointments_staff",
    "appointments_staff_branches",
    "appointments_staff_services",
    "appointments_workinghour",
    "appointments_availabilityoverride",
)

SQL = r"""
CREATE TABLE IF NOT EXISTS appointments_schedule_generation (
    id smallint PRIMARY KEY CHECK (id = 1),
    token uuid NOT NULL
);
INSERT INTO appointments_schedule_generation (id, token) VALUES (1, gen_random_uuid())
    ON CONFLICT (id) DO NOTHING;

CREATE OR REPLACE FUNCTION public.appointments_bump_schedule_generation() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    EXECUTE format(
        'INSERT INTO %I.appointments_schedule_generation (id, token) VALUES (1, gen_random_uuid()) '
        'ON CONFLICT (id) DO UPDATE SET token = EXCLUDED.token', TG_TABLE_SCHEMA);
    RETURN NULL;
END
$fn$;
""" + "".join(
    f"""
DROP TRIGGER IF EXISTS appointments_schedule_changed ON {table};
CREATE TRIGGER appointments_schedule_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION public.appointments_bump_schedule_generation();
"""
    for table in WATCHED_TABLES
)

REVERSE_SQL = "".join(
    f"DROP TRIGGER IF EXISTS appointments_schedule_changed ON {table};\n" for table in WATCHED_TABLES
) + "DROP TABLE IF EXISTS appointments_schedule_generation;\n"


class Migration(migrations.Migration):

    dependencies = [
        ("appointments", "0004_customer_journey"),
    ]

    operations = [
        migrations.RunSQL(SQL, REVERSE_SQL),
    ]
