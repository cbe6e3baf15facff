"""L2-SP: a penalty that keeps a fine-tune near the weights it started from.

Li, Grandvalet & Davoine, "Explicit inductive bias for transfer learning with convolutional
networks" (ICML 2018, arXiv 1802.01483): instead of weight decay toward zero, decay toward the
starting point, ``l2sp * sum ||w - w_0||^2`` over the trainable weights. A fine-tune on a user's
dozen labels then moves the projection heads only as far as those labels need, so the shared
space (text search for every other word) stays where the shipped model put it.
"""

from __future__ import annotations

import torch
from torch import nn


class StartingPoint:
    """A frozen copy of a model's trainable weights, taken before the first step.

    Args:
        model: The model whose ``requires_grad`` weights are pulled back toward their current
            values. Take the copy after the regime is applied and before any resume loads, so the
            anchor is the ``init_from`` checkpoint, not a half-trained state.
        weight: The penalty weight (``TrainConfig.l2sp``); 0 turns the penalty off.
    """

    def __init__(self, model: nn.Module, weight: float):
        self.weight = float(weight)
        self.anchor = {
            name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad
        }

    def distance(self, model: nn.Module) -> torch.Tensor:
        """``sum ||w - w_0||^2`` over the anchored weights (a scalar with gradients); the
        training step adds ``weight`` times it to the contrastive loss."""
        total = torch.zeros(())
        for name, p in model.named_parameters():
            ref = self.anchor.get(name)
            if ref is not None:
                total = total.to(p.device) + (p.float() - ref.to(p.device).float()).pow(2).sum()
        return total
