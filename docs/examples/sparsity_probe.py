"""A cost probe of your own: the share of the trained weights that are (almost) zero, measured
after each run outside its timed region. `costs: [weight_sparsity]` in a spec asks for it."""

from __future__ import annotations

import torch

from hotlap.metrics import Metric
from hotlap.probes import CostProbe, register_cost_probe

SPARSITY = Metric(
    "weight_sparsity",
    unit="",
    direction="maximize",
    kind="fraction",
    description="share of the trained weights within 1e-3 of zero",
)


@register_cost_probe("sparsity", SPARSITY)
class Sparsity(CostProbe):
    needs_weights = True  # the run keeps its weights until `measure`

    def measure(self, run):
        state = run.result.artifacts.get("model.pt") if run.result is not None else None
        tensors = [t for t in (state or {}).values() if torch.is_tensor(t) and t.is_floating_point()]
        if not tensors:
            return {}  # a run without weights: the measure is left out, never recorded as 0
        near_zero = sum(int((t.abs() < 1e-3).sum()) for t in tensors)
        return {"weight_sparsity": near_zero / sum(t.numel() for t in tensors)}
