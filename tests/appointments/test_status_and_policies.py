from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

import pytest

from appointments import policies
from appointments.errors import InvalidTransition, PolicyViolation
from appointments.models import (
    Appointment,
    AppointmentModification,
    CustomerBookingStats,
    PolicyConfiguration,
)
from appointments.services import (
    book_appointment,
    cancel_appointment,
    reschedule_appointment,
    transition_appointment,
)
from tests.appointments.conftest import MONDAY, NOW
from tests.fixtures.appointments import berlin

ALL = ["pending", "confirmed", "in_progress", "completed", "cancelled", "no_show"]
ALLOWED = {
    ("pending", "confirmed"), ("pending", "cancelled"),
    ("confirmed", "in_progress"), ("confirmed", "cancelled"), ("confirmed", "no_show"),
    ("in_progress", "completed"),
}


def _book(customer, service, staff, hhmm="10:00", day=MONDAY, status="confirmed"):
    return book_appointment(
        customer_id=customer.pk, service_id=service.pk, staff_id=staff.pk, starts_at=berlin(day, hhmm),
        source="admin", actor="admin:7", now=NOW, status=status,
    )


def _put_in(appointment: Appointment, status: str) -> None:
    Appointment.objects.filter(pk=appointment.pk).update(status=status)


@pytest.mark.parametrize("start", ALL)
@pytest.mark.parametrize("target", ALL)
def test_every_status_transition_is_allowed_or_refused_by_the_machine(anna, haarschnitt, customer_erika, start,
                                                                      target):
    # given
    appointment = _book(customer_erika, haarschnitt, anna)
    _put_in(appointment, start)
    after_start = berlin(MONDAY, "10:05")

    # when
    if (start, target) in ALLOWED:
        transition_appointment(appointment_id=appointment.pk, to_status=target, source="admin", actor="admin:7",
                               now=after_start)
    else:
        with pytest.raises(InvalidTransition):
            transition_appointment(appointment_id=appointment.pk, to_status=target, source="admin",
                                   actor="admin:7", now=after_start)

    # then
    appointment.refresh_from_db()
    expected = target if (start, target) in ALLOWED else start
    assert appointment.status == expected
    assert appointment.version == (2 if (start, target) in ALLOWED else 1)


def test_a_status_change_emits_status_changed_with_both_statuses(anna, haarschnitt, customer_erika, events,
                                                                 django_capture_on_commit_callbacks):
    appointment = _book(customer_erika, haarschnitt, anna)

    with django_capture_on_commit_callbacks(execute=True):
        transition_appointment(appointment_id=appointment.pk, to_status="in_progress", source="admin",
                               actor="admin:7", now=NOW)

    assert [(e.event_name, asdict(e)) for e in events][1:] == [("appointment.status_changed", {
        "appointment_id": appointment.pk, "source": "admin", "actor": "admin:7",
        "previous_status": "confirmed", "status": "in_progress"})]


def test_a_no_show_cannot_be_recorded_before_the_start(anna, haarschnitt, customer_erika):
    appointment = _book(customer_erika, haarschnitt, anna)

    with pytest.raises(InvalidTransition):
        transition_appointment(appointment_id=appointment.pk, to_status="no_show", source="admin",
                               actor="admin:7", now=NOW)

    appointment.refresh_from_db()
    assert appointment.status == "confirmed"


def test_a_no_show_releases_the_time_for_a_walk_in(anna, haarschnitt, customer_erika):
    appointment = _book(customer_erika, haarschnitt, anna)
    transition_appointment(appointment_id=appointment.pk, to_status="no_show", source="admin", actor="admin:7",
                           now=berlin(MONDAY, "10:10"))

    assert appointment.segments.get().status == "no_show"


# --- policies -------------------------------------------------------------------------------


def test_the_most_specific_policy_wins_staff_then_service_then_branch_then_company(anna, haarschnitt,
                                                                                     branch_mitte):
    # given
    kind = PolicyConfiguration.PolicyType.CANCELLATION
    company = PolicyConfiguration.objects.create(policy_type=kind, min_hours_notice=24)

    def effective():
        return policies.effective_policy(kind, staff_id=anna.pk, service_id=haarschnitt.pk,
                                         branch_id=branch_mitte.pk)["id"]

    # when / then each more specific level overrides the one before
    assert effective() == company.pk
    branch = PolicyConfiguration.objects.create(policy_type=kind, branch=branch_mitte, min_hours_notice=12)
    assert effective() == branch.pk
    service = PolicyConfiguration.objects.create(policy_type=kind, service=haarschnitt, min_hours_notice=6)
    assert effective() == service.pk
    staff = PolicyConfiguration.objects.create(policy_type=kind, staff=anna, min_hours_notice=2)
    assert effective() == staff.pk
    # and a change clears the cache at once
    staff.delete()
    assert effective() == service.pk
    service.is_active = False
    service.save()
    assert effective() == branch.pk


def test_policies_are_read_from_the_cache_after_the_first_lookup(anna, haarschnitt, branch_mitte,
                                                                 django_assert_num_queries):
    PolicyConfiguration.objects.create(policy_type="cancellation", min_hours_notice=24)
    policies.effective_policy("cancellation", staff_id=anna.pk, service_id=None, branch_id=None)

    # then: only the policy token is read, the rows come from the cache
    with django_assert_num_queries(1) as captured:
        policies.effective_policy("cancellation", staff_id=anna.pk, service_id=None, branch_id=None)
    assert captured.captured_queries[0]["sql"] == policies.TOKEN_SQL


def test_a_queryset_delete_of_a_blocking_policy_lets_the_next_cancellation_through(anna, haarschnitt,
                                                                                   customer_erika):
    # given: a blocking policy that refused a cancellation (and is cached now)
    PolicyConfiguration.objects.create(policy_type="cancellation", min_hours_notice=24, violation_action="block")
    appointment = _book(customer_erika, haarschnitt, anna)
    with pytest.raises(PolicyViolation):
        cancel_appointment(appointment_id=appointment.pk, source="admin", actor="admin:7", now=NOW)

    # when: the admin's bulk delete (a queryset delete: no model delete(), no signal)
    PolicyConfiguration.objects.filter(policy_type="cancellation").delete()

    # then
    result = cancel_appointment(appointment_id=appointment.pk, source="admin", actor="admin:7", now=NOW)
    assert (result.appointment.status, result.policy.violated) == ("cancelled", False)


def test_a_raw_sql_update_of_a_policy_is_seen_at_once(anna, haarschnitt):
    from django.db import connection

    policy = PolicyConfiguration.objects.create(policy_type="cancellation", min_hours_notice=24)
    assert policies.effective_policy("cancellation", staff_id=None, service_id=None, branch_id=None)["min_hours_notice"] == 24

    with connection.cursor() as cursor:
        cursor.execute("UPDATE appointments_policyconfiguration SET min_hours_notice = 48 WHERE id = %s", [policy.pk])

    assert policies.effective_policy("cancellation", staff_id=None, service_id=None, branch_id=None)["min_hours_notice"] == 48


def test_cancelling_without_a_policy_passes_and_frees_the_slot(anna, haarschnitt, customer_erika, events,
                                                               django_capture_on_commit_callbacks):
    # given
    appointment = _book(customer_erika, haarschnitt, anna)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        result = cancel_appointment(appointment_id=appointment.pk, reason="Krank", source="phone",
                                    actor="phone:call_9", now=NOW)

    # then
    appointment.refresh_from_db()
    assert (appointment.status, appointment.cancelled_at, appointment.version) == ("cancelled", NOW, 2)
    assert (result.policy.violated, result.policy.fee_cents) == (False, 0)
    assert appointment.segments.get().status == "cancelled"
    modification = appointment.modifications.get()
    assert (modification.kind, modification.reason, modification.actor, modification.policy_violated) == (
        "cancellation", "Krank", "phone:call_9", False)
    assert events[-1].event_name == "appointment.cancelled"
    assert events[-1].notify_customer is True


def test_a_late_cancellation_under_a_warn_policy_is_allowed_and_recorded(anna, haarschnitt, customer_erika):
    # given 24 hours' notice, and it is 4 hours before
    PolicyConfiguration.objects.create(policy_type="cancellation", min_hours_notice=24, violation_action="warn",
                                       fee_cents=1500)
    appointment = _book(customer_erika, haarschnitt, anna)

    # when
    result = cancel_appointment(appointment_id=appointment.pk, source="admin", actor="admin:7", now=NOW)

    # then
    assert (result.policy.violations, result.policy.action, result.policy.fee_cents) == (
        ("min_hours_notice",), "warn", 0)
    assert str(result.policy.hours_notice) == "4.00"
    stats = CustomerBookingStats.objects.get(customer=customer_erika)
    assert (stats.cancellation_count, stats.violation_count, stats.fees_cents) == (1, 1, 0)


def test_a_late_cancellation_under_a_fee_policy_charges_the_fee(anna, haarschnitt, customer_erika, branch_mitte):
    PolicyConfiguration.objects.create(policy_type="cancellation", branch=branch_mitte, min_hours_notice=24,
                                       violation_action="charge_fee", fee_cents=1500)
    appointment = _book(customer_erika, haarschnitt, anna)

    result = cancel_appointment(appointment_id=appointment.pk, source="admin", actor="admin:7", now=NOW)

    assert (result.policy.action, result.policy.fee_cents, result.policy.label) == ("charge_fee", 1500, "fee_charged")
    assert appointment.modifications.get().fee_cents == 1500
    assert CustomerBookingStats.objects.get(customer=customer_erika).fees_cents == 1500


def test_a_late_cancellation_under_a_block_policy_is_refused_and_nothing_changes(anna, haarschnitt,
                                                                                  customer_erika, events):
    PolicyConfiguration.objects.create(policy_type="cancellation", min_hours_notice=24, violation_action="block")
    appointment = _book(customer_erika, haarschnitt, anna)

    with pytest.raises(PolicyViolation) as refused:
        cancel_appointment(appointment_id=appointment.pk, source="admin", actor="admin:7", now=NOW)

    assert refused.value.details["violations"] == ["min_hours_notice"]
    appointment.refresh_from_db()
    assert (appointment.status, appointment.version) == ("confirmed", 1)
    assert AppointmentModification.objects.count() == 0
    assert not CustomerBookingStats.objects.filter(customer=customer_erika).exists()


def test_the_third_cancellation_in_a_month_exceeds_two_free_ones(anna, haarschnitt, customer_erika):
    PolicyConfiguration.objects.create(policy_type="cancellation", max_free_cancellations_per_month=2,
                                       violation_action="charge_fee", fee_cents=1000)
    results = []
    for hhmm in ("10:00", "11:00", "14:00"):
        appointment = _book(customer_erika, haarschnitt, anna, hhmm, day=MONDAY + timedelta(days=3))
        results.append(cancel_appointment(appointment_id=appointment.pk, source="admin", actor="admin:7", now=NOW))

    assert [r.policy.fee_cents for r in results] == [0, 0, 1000]
    assert results[2].policy.violations == ("max_free_cancellations_per_month",)


def test_reschedule_policy_limits_notice_and_count(anna, haarschnitt, customer_erika):
    # given
    PolicyConfiguration.objects.create(policy_type="reschedule", staff=anna, min_hours_notice=12,
                                       max_reschedules_per_booking=1, violation_action="block")
    appointment = _book(customer_erika, haarschnitt, anna, day=MONDAY + timedelta(days=2))

    # when the first move is early enough
    first = reschedule_appointment(appointment_id=appointment.pk, new_starts_at=berlin(MONDAY + timedelta(days=2),
                                   "11:00"), source="admin", actor="admin:7", now=NOW)
    # then a second one exceeds the count
    with pytest.raises(PolicyViolation) as refused:
        reschedule_appointment(appointment_id=appointment.pk, new_starts_at=berlin(MONDAY + timedelta(days=2),
                               "15:00"), source="admin", actor="admin:7", now=NOW)

    assert first.policy.label == "passed"
    assert refused.value.details["violations"] == ["max_reschedules_per_booking"]
    appointment.refresh_from_db()
    assert (appointment.starts_at, appointment.reschedule_count) == (berlin(MONDAY + timedelta(days=2), "11:00"), 1)


def test_a_late_reschedule_under_a_warn_policy_is_allowed_and_counted(anna, haarschnitt, customer_erika):
    PolicyConfiguration.objects.create(policy_type="reschedule", min_hours_notice=12)
    appointment = _book(customer_erika, haarschnitt, anna)

    result = reschedule_appointment(appointment_id=appointment.pk, new_starts_at=berlin(MONDAY, "16:00"),
                                    source="admin", actor="admin:7", now=NOW)

    assert (result.policy.label, result.policy.violations) == ("warned", ("min_hours_notice",))
    stats = CustomerBookingStats.objects.get(customer=customer_erika)
    assert (stats.reschedule_count, stats.violation_count) == (1, 1)


def test_a_cancelled_appointment_can_be_neither_cancelled_nor_moved_again(anna, haarschnitt, customer_erika):
    appointment = _book(customer_erika, haarschnitt, anna)
    cancel_appointment(appointment_id=appointment.pk, source="admin", actor="admin:7", now=NOW)

    with pytest.raises(InvalidTransition):
        cancel_appointment(appointment_id=appointment.pk, source="admin", actor="admin:7", now=NOW)
    with pytest.raises(InvalidTransition):
        reschedule_appointment(appointment_id=appointment.pk, new_starts_at=berlin(MONDAY, "16:00"),
                               source="admin", actor="admin:7", now=NOW)
    assert AppointmentModification.objects.count() == 1
