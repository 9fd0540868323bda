from django.contrib import admin

from .models import Bucket, Round


@admin.register(Round)
class RoundAdmin(admin.ModelAdmin):
    list_display = ["name", "collective", "status", "envelope_policy", "funding_closes_at"]
    list_filter = ["status"]
    readonly_fields = ["status", "opened_at", "closed_at", "settled_at"]


@admin.register(Bucket)
class BucketAdmin(admin.ModelAdmin):
    list_display = ["title", "round", "status", "min_goal", "max_goal"]
    list_filter = ["status"]
    readonly_fields = ["status", "account", "settled_at", "converted_amount"]
