"""Web push subscriptions: one per device on which a participant switched notifications on."""

from __future__ import annotations

from django.db import models

from diary.models.participant import Participant


class PushSubscription(models.Model):
    """What her browser's PushManager.subscribe() returned: where to POST, and the keys that
    encrypt what is POSTed (RFC 8291). Contact data: never exported, never in the audit trail.

    Deleted on logout from the device that made it, when she switches it off, and when the
    push service answers 404 or 410 (the browser dropped it).
    """

    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    endpoint = models.URLField(max_length=2000)
    p256dh = models.CharField(max_length=200, help_text="Her browser's public key (base64url).")
    auth = models.CharField(max_length=64, help_text="Her browser's auth secret (base64url).")
    user_agent = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["participant", "created_at"]
        constraints = [
            # An endpoint is one browser profile: it reaches one person only.
            models.UniqueConstraint(fields=["endpoint"], name="push_subscription_endpoint_unique"),
        ]

    def __str__(self) -> str:
        return f"push subscription of {self.participant}"
