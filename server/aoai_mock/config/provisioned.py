"""A deployment's SKU and what one PTU of a provisioned deployment is worth (docs/provisioned.md).

The checks that need the whole deployment, or every deployment of a file (``spillover_to``), are in
:mod:`aoai_mock.config.models`; the model of utilization is :mod:`aoai_mock.behaviour.provisioned`.
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Sku", "AZURE_SKUS", "PROVISIONED_KINDS", "ProvisionedSpec"]


class Sku(str, Enum):
    """A deployment's type, Azure's ``sku.name`` in the configuration's spelling (docs/provisioned.md).

    The provisioned ones are metered by their PTUs (``behaviour/provisioned.py``), the standard ones by their
    quota (``rate_limit``). ``global_`` and ``data_zone_`` name where Azure may process the data.
    """

    standard = "standard"
    global_standard = "global_standard"
    data_zone_standard = "data_zone_standard"
    provisioned = "provisioned"
    global_provisioned = "global_provisioned"
    data_zone_provisioned = "data_zone_provisioned"

    @property
    def is_provisioned(self) -> bool:
        return self.value.endswith("provisioned")

    @property
    def level(self) -> str:
        """Where the data is processed: "global", "data_zone", or "" (the resource's region)."""
        return self.value.rpartition("_")[0]


# Azure's own names (``sku.name`` of the management API, ``--sku-name`` of the CLI) are read as the same SKUs.
AZURE_SKUS = {
    "Standard": Sku.standard,
    "GlobalStandard": Sku.global_standard,
    "DataZoneStandard": Sku.data_zone_standard,
    "ProvisionedManaged": Sku.provisioned,
    "GlobalProvisionedManaged": Sku.global_provisioned,
    "DataZoneProvisionedManaged": Sku.data_zone_provisioned,
}
PROVISIONED_KINDS = frozenset({"chat", "completions"})  # the kinds of deployment that can be provisioned


class ProvisionedSpec(BaseModel):
    """What one PTU of a provisioned deployment is worth (``behaviour/provisioned.py`` has the model). Unset,
    each figure is Azure's for the deployment's model, from its PTU sizing tables."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    input_tpm_per_ptu: int | None = Field(
        None, ge=1, description="Input tokens a minute one PTU serves; by default Azure's figure for the model."
    )
    output_to_input_ratio: float | None = Field(
        None, gt=0, description="How many input tokens one output token weighs; by default Azure's for the model."
    )
