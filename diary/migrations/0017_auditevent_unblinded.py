"""AuditEvent.unblinded: who may read an event is stamped on it when it is written.

Existing rows are classified by the owner as the column is added, without an UPDATE (the
guards refuse UPDATE on the audit table to every role, the owner included, and they must
stay): `ALTER COLUMN ... TYPE ... USING` rewrites the table, which fires no row trigger. Fail
closed: every export whose details do not say `"blinded": true` (unblinded exports, and
audit-trail downloads, whose row counts may have counted unblinded events) is unblinded, as
are the events about the allocation itself.
"""

from django.db import migrations, models

UNBLINDED_ACTIONS = ("allocation_generated", "allocation_uploaded", "summary_viewed", "unblinded")

CLASSIFY = f"""
ALTER TABLE diary_auditevent ALTER COLUMN unblinded TYPE boolean USING (
    action IN ({", ".join(f"'{a}'" for a in UNBLINDED_ACTIONS)})
    OR (action = 'exported' AND (details -> 'blinded') IS DISTINCT FROM 'true'::jsonb)
)
"""


class Migration(migrations.Migration):

    dependencies = [
        ('diary', '0016_access_grants'),
    ]

    operations = [
        migrations.AddField(
            model_name='auditevent',
            name='unblinded',
            field=models.BooleanField(default=False),
            preserve_default=False,
        ),
        migrations.RunSQL(CLASSIFY, reverse_sql=migrations.RunSQL.noop),
        migrations.AddConstraint(
            model_name='auditevent',
            constraint=models.CheckConstraint(condition=models.Q(('unblinded', True), models.Q(('action__in', ['allocation_generated', 'allocation_uploaded', 'summary_viewed', 'unblinded']), _negated=True), _connector='OR'), name='audit_unblinded_actions'),
        ),
        migrations.AddConstraint(
            model_name='auditevent',
            constraint=models.CheckConstraint(condition=models.Q(('unblinded', True), models.Q(('action', 'exported'), _negated=True), ('details__contains', {'blinded': True}), _connector='OR'), name='audit_export_blinded_declared'),
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(condition=models.Q(('study__isnull', True)), fields=['occurred_at'], name='audit_system_time'),
        ),
        migrations.AlterModelOptions(
            name='study',
            options={'permissions': [('view_unblinded', 'Can see allocation, treatments and per-arm results'), ('emergency_unblind', 'Can unblind one participant in an emergency'), ('export_data', "Can export the study's data (blinded)"), ('export_unblinded', "Can export the study's data unblinded"), ('view_audit_trail', "Can read participants' audit timelines and export the trail"), ('view_system_audit', 'Can read and export the system audit trail')], 'verbose_name_plural': 'studies'},
        ),
    ]
