# The audit actions of the branches merged in session 5 (imports, change requests and signatures,
# the study lock and site copies, late entries, reminder channels), as one set of choices.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('diary', '0025_signal_indexes'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditevent',
            name='action',
            field=models.CharField(choices=[('login', 'Logged in'), ('logout', 'Logged out'), ('login_failed', 'Failed login'), ('lockout', 'Locked out'), ('invitation_sent', 'Invitation sent'), ('invitation_used', 'Invitation used'), ('password_reset', 'Password reset'), ('password_changed', 'Password set or changed'), ('authenticator_added', 'Authenticator added'), ('authenticator_removed', 'Authenticator removed'), ('enrolled', 'Participant enrolled'), ('activated', 'Participant activated'), ('randomized', 'Participant randomized'), ('period_reported', 'Period reported'), ('period_corrected', 'Period corrected'), ('draft_saved', 'Draft saved'), ('submitted', 'Questionnaire submitted'), ('corrected', 'Response corrected'), ('excused', 'Assessment excused'), ('missed', 'Assessment missed'), ('withdrawn', 'Participant withdrawn'), ('exported', 'Data exported'), ('summary_viewed', 'Unblinded summary viewed'), ('unblinded', 'Emergency unblinding'), ('allocation_uploaded', 'Allocation list uploaded'), ('allocation_generated', 'Allocation list generated'), ('study_changed', 'Study settings changed'), ('grant_proposed', 'Access grant proposed'), ('grant_approved', 'Access granted'), ('grant_rejected', 'Access grant rejected'), ('instrument_loaded', 'Instrument version loaded'), ('rescored', 'Responses rescored'), ('reminder_sent', 'Reminder sent'), ('reminder_channel_set', 'Reminder channel chosen'), ('push_subscribed', 'Push notifications switched on for a device'), ('push_removed', 'Push notifications removed from a device'), ('demo_created', 'Demo study created'), ('signal_reviewed', 'Data-quality signal reviewed'), ('query_raised', 'Query raised to the site'), ('query_answered', 'Query answered by the site'), ('query_closed', 'Query closed'), ('queries_exported', 'Queries exported'), ('signal_settings_changed', 'Signal thresholds changed'), ('change_requested', 'Participant asked for an answer to be changed'), ('change_accepted', 'Change request accepted (answer corrected)'), ('change_declined', 'Change request declined'), ('casebook_signed', 'Casebook signed'), ('signature_refused', 'Signing refused: re-authentication failed'), ('imported', 'Data imported from a file'), ('lock_proposed', 'Study lock change proposed'), ('lock_confirmed', 'Study lock change confirmed'), ('lock_rejected', 'Study lock change rejected'), ('site_copy_generated', 'Site copy generated'), ('site_copy_downloaded', 'Site copy downloaded'), ('late_entry_kept', 'Late entry kept for review'), ('late_entry_accepted', 'Late entry accepted as documented'), ('late_entry_declined', 'Late entry declined')], max_length=32),
        ),
    ]
