"""Request serializers of the ticket's billing-moment actions (outside normal
support, a change the client asked for); the answer is the billing moment
(tickets.api.serializers.BillingMomentSerializer)."""

from rest_framework import serializers

from tickets.models import BillingMoment

NOTE_MAX = BillingMoment._meta.get_field("detail").max_length


class TicketMomentSerializer(serializers.Serializer):
    note = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=NOTE_MAX,
        help_text="Why, in a line (optional): becomes the moment's detail.",
    )
