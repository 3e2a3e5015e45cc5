"""``./dev simulate``: the evacuator's whole control loop on a simulated clock, under AWS's
documented contracts, with the project's real decision, state, evacuator, break-glass and edge
code driven through simulated AWS clients (``simulation.aws``); the invariants it must keep
(``simulation.invariants``) and the figures it reports (``simulation.figures``)."""
