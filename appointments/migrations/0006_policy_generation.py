"""A per-tenant token that changes whenever a booking policy row changes, whoever writes (the
admin's bulk delete, a queryset update, raw SQL): the cached policies are keyed by it, as the
schedule snapshot is keyed by the schedule token of 0005. Random, never a counter, so a
rolled-back change cannot leave a token that a later change reuses."""

from django.db import migrations

SQL = r"""
CREATE TABLE IF NOT EXISTS appointments_policy_generation (
    id smallint PRIMARY KEY CHECK (id = 1),
    token uuid NOT NULL
);
INSERT INTO appointments_policy_generation (id, token) VALUES (1, gen_random_uuid())
    ON CONFLICT (id) DO NOTHING;

CREATE OR REPLACE FUNCTION public.appointments_bump_policy_generation() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    EXECUTE format(
        'INSERT INTO %I.appointments_policy_generation (id, token) VALUES (1, gen_random_uuid()) '
        'ON CONFLICT (id) DO UPDATE SET token = EXCLUDED.token', TG_TABLE_SCHEMA);
    RETURN NULL;
END
$fn$;

DROP TRIGGER IF EXISTS appointments_policies_changed ON appointments_policyconfiguration;
CREATE TRIGGER appointments_policies_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON appointments_policyconfiguration
    FOR EACH STATEMENT EXECUTE FUNCTION public.appointments_bump_policy_generation();
"""

REVERSE_SQL = """
DROP TRIGGER IF EXISTS appointments_policies_changed ON appointments_policyconfiguration;
DROP TABLE IF EXISTS appointments_policy_generation;
"""


class Migration(migrations.Migration):

    dependencies = [
        ("appointments", "0005_schedule_generation"),
    ]

    operations = [
        migrations.RunSQL(SQL, REVERSE_SQL),
    ]
