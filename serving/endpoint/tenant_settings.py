"""The settings a tenant's handle is locked with (docs/contract.md §6, "Through serve").

chDB cannot give a handle another user, so the endpoint prepares each tenant request's fresh
handle with exactly what the tenant login's users config gives `query --tenant`
(serving/access/embedded.py) and then sets `readonly = 1`, after which the engine refuses
every change (`SET`, a `SETTINGS` clause; a subquery's `SETTINGS` is ignored):
- `additional_table_filters`: the tenant's rows of every tenant-scoped `bi` view (the column
  its scope declares), no rows (`0`) of a `bi` relation without a usable declaration, and
  `bi` only in `system.databases/tables/columns` (so every metadata answer lists `bi` only);
- the tenant settings profile (serving/access/profile.py): the limits, and the fixed
  evaluation order that keeps another tenant's rows from reaching the tenant's expressions;
- the BI settings the request sent as URL parameters, where the profile lets them change and
  within their bounds; any other change is refused as the engine refuses it.
"""

from __future__ import annotations

from collections.abc import Mapping

from saas_warehouse.warehouse import sql_string
from serving.access.embedded import tenant_filters
from serving.access.limits import TenantLimits
from serving.access.model import BI_DATABASE, AccessModel
from serving.access.profile import SettingRule, tenant_profile
from serving.endpoint.errors import ClickHouseError

# Per user on the engine, and every handle is the same `default` user: the door counts
# concurrent queries per login instead (serving/endpoint/tenant_door.py).
COUNTED_AT_THE_DOOR = {"readonly", "max_concurrent_queries_for_user"}
SYSTEM_FILTERS = {
    "system.databases": f"name = '{BI_DATABASE}'",
    "system.tables": f"database = '{BI_DATABASE}'",
    "system.columns": f"database = '{BI_DATABASE}'",
}


def _checked(rule: SettingRule | None, name: str, value: str) -> str:
    """`value` if the tenant may set `name` to it; else the engine's constraint error."""
    if rule is None or not rule.changeable:
        if rule is not None and rule.value is not None and str(rule.value) == value:
            return value  # unchanged: allowed, as a server allows it
        raise ClickHouseError.make(452, f"Setting {name} should not be changed")
    if rule.min is not None or rule.max is not None:
        try:
            number = int(value)
        except ValueError:
            raise ClickHouseError.make(
                452, f"Setting {name} must be a whole number, not {value!r}") from None
        if rule.min is not None and number < rule.min:
            raise ClickHouseError.make(452, f"Setting {name} shouldn't be less than {rule.min}")
        if rule.max is not None and number > rule.max:
            raise ClickHouseError.make(
                452, f"Setting {name} shouldn't be greater than {rule.max}")
    return value


def requested_settings(limits: TenantLimits, asked: Mapping[str, str]) -> dict[str, str]:
    """The request's settings a tenant may have (raises on any it may not)."""
    rules = {rule.name: rule for rule in tenant_profile(limits)}
    return {name: _checked(rules.get(name), name, value) for name, value in asked.items()}


def lock_statements(model: AccessModel, tenant_id: str, limits: TenantLimits,
                    asked: Mapping[str, str]) -> list[str]:
    """The SETs that make a fresh handle the tenant's login, `readonly = 1` last."""
    values: dict[str, object] = {
        rule.name: rule.value for rule in tenant_profile(limits)
        if rule.value is not None and rule.name not in COUNTED_AT_THE_DOOR
    }
    values.update(asked)
    filters = {f"{BI_DATABASE}.{view}": condition
               for view, condition in tenant_filters(model, tenant_id).items()}
    filters.update(SYSTEM_FILTERS)
    filter_map = "{" + ", ".join(f"{sql_string(k)}: {sql_string(v)}"
                                 for k, v in filters.items()) + "}"
    assignments = [f"{name} = {value if isinstance(value, int) else sql_string(value)}"
                   for name, value in values.items()]
    assignments.append(f"additional_table_filters = {filter_map}")
    return ["SET " + ", ".join(assignments), "SET readonly = 1"]
