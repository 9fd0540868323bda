"""The API of flags against a round's guidelines: every member reads a bucket's flags, coordinators resolve them."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from contrib_budget.api import CollectiveScopedMixin, MultiLineField

from . import services
from .models import Bucket, BucketFlag
from .permissions import RESOLVE_FLAGS


class FlagSerializer(serializers.ModelSerializer):
    author = serializers.IntegerField(source="author_id", read_only=True)
    author_name = serializers.CharField(source="author.display_name", read_only=True)
    resolved_by = serializers.IntegerField(source="resolved_by_id", read_only=True, allow_null=True)

    class Meta:
        model = BucketFlag
        fields = ["id", "bucket", "author", "author_name", "reason", "created_at", "resolved_at", "resolved_by",
                  "resolution"]
        read_only_fields = fields


class ResolveSerializer(serializers.Serializer):
    resolution = MultiLineField(max_length=2000)


class BucketFlagViewSet(CollectiveScopedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """A bucket's flags, the open ones first; a coordinator resolves one, saying how (it stays, marked resolved)."""

    serializer_class = FlagSerializer
    queryset = BucketFlag.objects.none()
    roles_by_action = {"resolve_flag": RESOLVE_FLAGS.roles}
    lookup_url_kwarg = "bucket_flag_id"

    def get_queryset(self):
        flags = BucketFlag.objects.of(self.collective).select_related("author")
        if "bucket_id" in self.kwargs:
            bucket = get_object_or_404(Bucket.objects.of(self.collective), pk=self.kwargs["bucket_id"])
            flags = flags.filter(bucket=bucket)
        return flags.order_by("-resolved_at", "created_at", "id")

    @extend_schema(request=ResolveSerializer, responses=FlagSerializer)
    @action(detail=True, methods=["post"], url_path="resolve")
    def resolve_flag(self, request, *args, **kwargs):
        # Not `resolve`: the mixin's `resolve` finds the collective of the request.
        flag = self.get_object()
        serializer = ResolveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        flag = services.bucket_flag_resolve(flag=flag, actor=request.user,
                                            resolution=serializer.validated_data["resolution"])
        return Response(self.get_serializer(self.get_queryset().get(pk=flag.pk)).data)
