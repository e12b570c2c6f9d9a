"""The append-only ledger guard also refuses TRUNCATE (a statement-level trigger; the row-level
one never sees TRUNCATE)."""

from django.db import migrations

CREATE = """
CREATE TRIGGER billing_transaction_no_truncate
    BEFORE TRUNCATE ON billing_transaction
    FOR EACH STATEMENT EXECUTE FUNCTION billing_transaction_append_only();
"""

DROP = "DROP TRIGGER IF EXISTS billing_transaction_no_truncate ON billing_transaction;"


class Migration(migrations.Migration):
    dependencies = [("billing", "0003_provider_cost_currency")]

    operations = [migrations.RunSQL(CREATE, DROP)]
