"""Cooperation chains: when no single supplier can make an item, a route of stages given to several
domestic manufacturers, as near to the buyer as the procurement priority allows.

Public API: :class:`ChainRequest` and :class:`Stage` (the route), :class:`StageCandidate` (the matcher's
proposals), :func:`build_chains` (best chain and alternatives), :func:`recompute` (a coordinator's swap),
:func:`evaluate_chain`, :func:`chain_graph`, and the route templates (:func:`load_template`).
"""
from matching.chains.builder import build_chains, chain_graph, evaluate_chain, recompute
from matching.chains.model import (
    Assignment,
    Chain,
    ChainBuildResult,
    InfeasibleReason,
    Leg,
    StageCandidate,
    StageDecision,
    TransportModel,
)
from matching.chains.request import ChainRequest, ChainRequestError, Stage, stage_graph
from matching.chains.templates import ChainTemplate, load_template, template_names

__all__ = [
    "Assignment",
    "Chain",
    "ChainBuildResult",
    "ChainRequest",
    "ChainRequestError",
    "ChainTemplate",
    "InfeasibleReason",
    "Leg",
    "Stage",
    "StageCandidate",
    "StageDecision",
    "TransportModel",
    "build_chains",
    "chain_graph",
    "evaluate_chain",
    "load_template",
    "recompute",
    "stage_graph",
    "template_names",
]
