"""The database's own refusal to change the consent ledger (see consent/models.py).

Nothing may DELETE or TRUNCATE a ledger row (but a test database, marked as one by conftest.py). An UPDATE is allowed only when it changes nothing but
the subject's identifiers and evidence, each either kept, emptied, or replaced by a keyed hash
(h$ + 62 hex digits), and, on PostgreSQL, only inside a transaction that declared itself the
erasure engine's (`SET LOCAL juno.ledger_erasure = 'on'`, consent/datamap.py). SQLite (the embedded
default) has no session settings: there the shape of the change alone is checked.
"""

from django.db import migrations

PG_FUNCTION = r"""
CREATE OR REPLACE FUNCTION consent_ledger_guard() RETURNS trigger AS $$
BEGIN
    -- A throwaway test database empties its tables between tests (Django's flush truncates them):
    -- the test suite sets this on that database only (conftest.py), never on a real one.
    IF TG_OP = 'TRUNCATE' AND coalesce(current_setting('juno.ledger_truncate', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' OR TG_OP = 'TRUNCATE' THEN
        RAISE EXCEPTION 'the consent ledger is append-only: % refused', TG_OP USING ERRCODE = 'restrict_violation';
    END IF;
    IF coalesce(current_setting('juno.ledger_erasure', true), '') <> 'on' THEN
        RAISE EXCEPTION 'the consent ledger is append-only: UPDATE refused outside an erasure'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF (NEW.id, NEW.merchant_id, NEW.purpose_id, NEW.action, NEW.policy_version_id, NEW.channel, NEW.occurred_at,
        NEW.recorded_at, NEW.text_shown, NEW.entered_by_id, NEW.client_id, NEW.reference)
       IS DISTINCT FROM
       (OLD.id, OLD.merchant_id, OLD.purpose_id, OLD.action, OLD.policy_version_id, OLD.channel, OLD.occurred_at,
        OLD.recorded_at, OLD.text_shown, OLD.entered_by_id, OLD.client_id, OLD.reference)
       OR NOT (NEW.email = OLD.email OR NEW.email = '' OR NEW.email ~ '^h\$[0-9a-f]{62}$')
       OR NOT (NEW.phone = OLD.phone OR NEW.phone = '' OR NEW.phone ~ '^h\$[0-9a-f]{62}$')
       OR NOT (NEW.ip_address IS NOT DISTINCT FROM OLD.ip_address OR NEW.ip_address IS NULL)
       OR NOT (NEW.user_agent = OLD.user_agent OR NEW.user_agent = '') THEN
        RAISE EXCEPTION 'the consent ledger is append-only: only a pseudonymisation may change a row'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""

PG_TRIGGERS = """
CREATE TRIGGER consent_ledger_no_update_delete BEFORE UPDATE OR DELETE ON consent_consentevent
    FOR EACH ROW EXECUTE FUNCTION consent_ledger_guard();
CREATE TRIGGER consent_ledger_no_truncate BEFORE TRUNCATE ON consent_consentevent
    FOR EACH STATEMENT EXECUTE FUNCTION consent_ledger_guard();
"""

PG_DROP = """
DROP TRIGGER IF EXISTS consent_ledger_no_update_delete ON consent_consentevent;
DROP TRIGGER IF EXISTS consent_ledger_no_truncate ON consent_consentevent;
DROP FUNCTION IF EXISTS consent_ledger_guard();
"""

_HASHED = "(NEW.{c} = OLD.{c} OR NEW.{c} = '' OR (length(NEW.{c}) = 64 AND substr(NEW.{c}, 1, 2) = 'h$'))"
SQLITE_TRIGGERS = [
    """CREATE TRIGGER consent_ledger_no_delete BEFORE DELETE ON consent_consentevent
    BEGIN SELECT RAISE(ABORT, 'the consent ledger is append-only: DELETE refused'); END;""",
    f"""CREATE TRIGGER consent_ledger_no_update BEFORE UPDATE ON consent_consentevent
    WHEN NOT (
        NEW.id IS OLD.id AND NEW.merchant_id IS OLD.merchant_id AND NEW.purpose_id IS OLD.purpose_id
        AND NEW.action IS OLD.action AND NEW.policy_version_id IS OLD.policy_version_id AND NEW.channel IS OLD.channel
        AND NEW.occurred_at IS OLD.occurred_at AND NEW.recorded_at IS OLD.recorded_at
        AND NEW.text_shown IS OLD.text_shown AND NEW.entered_by_id IS OLD.entered_by_id
        AND NEW.client_id IS OLD.client_id AND NEW.reference IS OLD.reference
        AND {_HASHED.format(c="email")} AND {_HASHED.format(c="phone")}
        AND (NEW.ip_address IS OLD.ip_address OR NEW.ip_address IS NULL)
        AND (NEW.user_agent IS OLD.user_agent OR NEW.user_agent = '')
    )
    BEGIN SELECT RAISE(ABORT, 'the consent ledger is append-only: only a pseudonymisation may change a row'); END;""",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS consent_ledger_no_delete;", "DROP TRIGGER IF EXISTS consent_ledger_no_update;"]


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:  # no parameters: '%' is the message's own
            cursor.execute(PG_FUNCTION)
            cursor.execute(PG_TRIGGERS)
    elif vendor == "sqlite":
        for sql in SQLITE_TRIGGERS:
            schema_editor.execute(sql)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_DROP)
    elif vendor == "sqlite":
        for sql in SQLITE_DROP:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("consent", "0001_ledger_purposes_policy_register")]
    operations = [migrations.RunPython(forwards, backwards)]
