from django.contrib import admin

from .models import AccountingSettings, AccountMapping, Export, IssuedDocument


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin):
    list_display = ["id", "collective", "kind", "format", "status", "progress", "row_count", "created_at", "expires_at"]
    list_filter = ["status", "kind", "format"]
    readonly_fields = [field.name for field in Export._meta.fields]


@admin.register(IssuedDocument)
class IssuedDocumentAdmin(admin.ModelAdmin):
    list_display = ["id", "collective", "kind", "subject", "issued_by", "issued_at"]
    list_filter = ["kind"]
    readonly_fields = [field.name for field in IssuedDocument._meta.fields]


admin.site.register(AccountingSettings)
admin.site.register(AccountMapping)
