"""Staff tools: people, collectives, memberships, invitations, tokens and the (read-only) audit trail."""

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import AuditEvent, Collective, Invitation, Membership, PersonalToken, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (_("Profile"), {"fields": ["name"]}),
        (_("Permissions"), {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Collective)
class CollectiveAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "currency", "locale", "timezone", "created_at"]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "collective", "roles", "joined_at"]
    list_filter = ["collective"]
    search_fields = ["user__email", "collective__name"]
    autocomplete_fields = ["user", "collective"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "collective", "roles", "invited_by", "expires_at", "accepted_at", "declined_at",
                    "revoked_at"]
    list_filter = ["collective"]
    search_fields = ["email"]
    readonly_fields = ["token", "invited_by", "accepted_at", "declined_at", "email_sent_at"]


@admin.register(PersonalToken)
class PersonalTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "user", "created_at", "expires_at", "last_used_at"]
    search_fields = ["name", "prefix", "user__email"]
    exclude = ["key_hash"]
    readonly_fields = ["user", "name", "prefix", "created_at", "last_used_at"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The trail is written by the services only."""

    list_display = ["created_at", "collective", "actor", "action", "target_label"]
    list_filter = ["collective", "action"]
    search_fields = ["action", "target_label"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# The admin has no login form of its own: /admin/login/ sends to the site's login (allauth), so that staff log in
# with the same failed-login limits (members/login_limits.py) and two-factor authentication as everyone.
admin.site.login = secure_admin_login(admin.site.login)
