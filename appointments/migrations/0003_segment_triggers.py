"""Database triggers that keep AppointmentSegment rows (which carry the no-double-booking
exclusion constraint) in step with their appointment, whoever writes the appointment row.

- status changes are copied to every segment (a cancelled appointment frees its time);
- a time or staff change of a single-segment appointment moves its segment (buffers kept);
- an appointment inserted without segments (a raw ORM or SQL write that bypassed the services)
  gets one at commit, so it is still covered by the constraint.

The functions live in ``public`` (created by each tenant migration, idempotently) and address the
tables through ``TG_TABLE_SCHEMA``, so they act on the schema of the row that fired them.
"""

from django.db import migrations

SQL = r"""
CREATE OR REPLACE FUNCTION public.appointments_sync_segments() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        EXECUTE format(
            'UPDATE %I.appointments_appointmentsegment SET status = $1 '
            'WHERE appointment_id = $2 AND status IS DISTINCT FROM $1', TG_TABLE_SCHEMA)
        USING NEW.status, NEW.id;
    END IF;
    IF (NEW.starts_at, NEW.ends_at, NEW.staff_id) IS DISTINCT FROM (OLD.starts_at, OLD.ends_at, OLD.staff_id) THEN
        EXECUTE format(
            'UPDATE %1$I.appointments_appointmentsegment seg SET staff_id = $1, starts_at = $2, ends_at = $3, '
            'blocked_from = $2 - (seg.starts_at - seg.blocked_from), '
            'blocked_until = $3 + (seg.blocked_until - seg.ends_at) '
            'WHERE seg.appointment_id = $4 '
            'AND (seg.staff_id, seg.starts_at, seg.ends_at) IS DISTINCT FROM ($1, $2, $3) '
            'AND (SELECT count(*) FROM %1$I.appointments_appointmentsegment s2 WHERE s2.appointment_id = $4) = 1',
            TG_TABLE_SCHEMA)
        USING NEW.staff_id, NEW.starts_at, NEW.ends_at, NEW.id;
    END IF;
    RETURN NULL;
END
$fn$;

CREATE OR REPLACE FUNCTION public.appointments_ensure_segment() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    EXECUTE format(
        'INSERT INTO %1$I.appointments_appointmentsegment '
        '(appointment_id, position, name, service_id, staff_id, starts_at, ends_at, blocked_from, blocked_until, status) '
        'SELECT a.id, 0, s.name, a.service_id, a.staff_id, a.starts_at, a.ends_at, '
        'a.starts_at - make_interval(mins => s.buffer_before_minutes), '
        'a.ends_at + make_interval(mins => s.buffer_after_minutes), a.status '
        'FROM %1$I.appointments_appointment a JOIN %1$I.appointments_service s ON s.id = a.service_id '
        'WHERE a.id = $1 AND NOT EXISTS '
        '(SELECT 1 FROM %1$I.appointments_appointmentsegment x WHERE x.appointment_id = a.id)',
        TG_TABLE_SCHEMA)
    USING NEW.id;
    RETURN NULL;
END
$fn$;

DROP TRIGGER IF EXISTS appointments_sync_segments ON appointments_appointment;
CREATE TRIGGER appointments_sync_segments
    AFTER UPDATE ON appointments_appointment
    FOR EACH ROW EXECUTE FUNCTION public.appointments_sync_segments();

DROP TRIGGER IF EXISTS appointments_ensure_segment ON appointments_appointment;
CREATE CONSTRAINT TRIGGER appointments_ensure_segment
    AFTER INSERT ON appointments_appointment
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION public.appointments_ensure_segment();
"""

REVERSE_SQL = r"""
DROP TRIGGER IF EXISTS appointments_sync_segments ON appointments_appointment;
DROP TRIGGER IF EXISTS appointments_ensure_segment ON appointments_appointment;
"""


class Migration(migrations.Migration):

    dependencies = [
        ("appointments", "0002_scheduling"),
    ]

    operations = [
        migrations.RunSQL(SQL, REVERSE_SQL),
    ]
