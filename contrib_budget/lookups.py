"""`field__any=[...]`: one array parameter whatever the list's length.

`__in` writes one placeholder an item, so its SQL differs with every length and a query using it cannot be
prepared (contrib_budget.prepared); `= ANY(%s)` is the same SQL for any list, and PostgreSQL plans it as `IN`.
"""

from django.db.models import Field, ForeignObject, Lookup


class AnyOf(Lookup):
    lookup_name = "any"
    prepare_rhs = False

    def get_db_prep_lookup(self, value, connection):
        return "%s", [list(value)]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs})", [*lhs_params, *rhs_params]


# A foreign key keeps lookups of its own: `bucket_id__any` (ids, not instances) is registered there too.
Field.register_lookup(AnyOf)
ForeignObject.register_lookup(AnyOf)
