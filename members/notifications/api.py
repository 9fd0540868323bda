"""API of notifications: my inbox and my settings under /api/v1/me/, a collective's reminders under its slug."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from contrib_budget.api import CollectiveScopedMixin
from members.models import Role

from . import reminders, selectors, services
from .models import EmailMode, Notification

UNREAD = OpenApiParameter("unread", OpenApiTypes.BOOL, description="1: only the notifications not read yet")


class CollectiveRefSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()


class NotificationSerializer(serializers.ModelSerializer):
    collective = CollectiveRefSerializer(read_only=True)
    text = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "collective", "text", "url", "created_at", "read_at"]

    def get_text(self, notification: Notification) -> str:
        return selectors.text_of(notification)


@extend_schema(tags=["me"])
class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """My notifications, newest first; the text is in the language of the request."""

    serializer_class = NotificationSerializer
    queryset = Notification.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        unread = self.request.query_params.get("unread", "").lower() in ("1", "true", "yes")
        return selectors.inbox(self.request.user, unread=unread)

    @extend_schema(parameters=[UNREAD])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses=NotificationSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notification = services.notification_mark_read(user=request.user, notification_id=int(pk))
        return Response(NotificationSerializer(notification).data)

    @extend_schema(request=None, responses=inline_serializer("ReadAll", {"marked": serializers.IntegerField()}))
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        return Response({"marked": services.notifications_mark_all_read(user=request.user)})


# A map from each kind's code to how I am told of it.
SETTINGS_SCHEMA = {
    "type": "object",
    "additionalProperties": {
        "type": "object",
        "properties": {"label": {"type": "string", "readOnly": True},
                       "email": {"type": "string", "enum": list(EmailMode.values)},
                       "in_app": {"type": "boolean"}},
    },
}


def _as_changes(data) -> dict:
    """Accept {kind: {...}}, {"kinds": {kind: {...}}} or [{"kind": kind, ...}] alike."""
    if isinstance(data, list):
        return {item.get("kind"): {k: v for k, v in item.items() if k not in ("kind", "label")}
                for item in data if isinstance(item, dict)}
    if isinstance(data, dict) and isinstance(data.get("kinds"), dict):
        data = data["kinds"]
    if isinstance(data, dict):
        return {code: {k: v for k, v in change.items() if k != "label"} if isinstance(change, dict) else change
                for code, change in data.items()}
    return data


@extend_schema(tags=["me"])
class NotificationSettingsView(APIView):
    """How I am told of each kind: `email` (instant, daily or off) and `in_app` (true or false)."""

    @staticmethod
    def _body(user) -> dict:
        return {row["kind"]: {"label": row["label"], "email": row["email"], "in_app": row["in_app"]}
                for row in selectors.settings_rows(user)}

    @extend_schema(responses={200: SETTINGS_SCHEMA})
    def get(self, request):
        return Response(self._body(request.user))

    @extend_schema(request={"application/json": SETTINGS_SCHEMA}, responses={200: SETTINGS_SCHEMA})
    def patch(self, request):
        services.notification_settings_update(user=request.user, kinds=_as_changes(request.data))
        return Response(self._body(request.user))


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    email = serializers.EmailField(read_only=True)
    name = serializers.CharField(read_only=True)
    language = serializers.ChoiceField(choices=[("", "—"), *settings.LANGUAGES], required=False,
                                       help_text="The language of my emails; empty: each collective's.")


@extend_schema(tags=["me"])
class MeView(APIView):
    """Who I am, and the language of my emails."""

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        return Response(MeSerializer(request.user).data)

    @extend_schema(request=MeSerializer, responses=MeSerializer)
    def patch(self, request):
        serializer = MeSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.notification_settings_update(user=request.user, language=serializer.validated_data.get("language"))
        return Response(MeSerializer(request.user).data)


class ReminderSettingsSerializer(serializers.Serializer):
    declare_enabled = serializers.BooleanField(required=False)
    declare_days_before = serializers.IntegerField(required=False, min_value=0, max_value=60)
    review_enabled = serializers.BooleanField(required=False)
    review_after_days = serializers.IntegerField(required=False, min_value=1, max_value=60)
    wallet_enabled = serializers.BooleanField(required=False)
    lock_enabled = serializers.BooleanField(required=False)


@extend_schema(tags=["notifications"])
class ReminderSettingsView(CollectiveScopedMixin, APIView):
    """The collective's reminders: members read them, coordinators change them."""

    roles_by_action = {"patch": (Role.COORDINATOR,)}

    def initial(self, request, *args, **kwargs):
        self.action = request.method.lower()
        super().initial(request, *args, **kwargs)

    @extend_schema(responses=ReminderSettingsSerializer)
    def get(self, request, collective_slug):
        return Response(ReminderSettingsSerializer(reminders.settings_of(self.collective)).data)

    @extend_schema(request=ReminderSettingsSerializer, responses=ReminderSettingsSerializer)
    def patch(self, request, collective_slug):
        serializer = ReminderSettingsSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        current = services.reminder_settings_update(collective=self.collective, actor=request.user,
                                                    **serializer.validated_data)
        return Response(ReminderSettingsSerializer(current).data)
