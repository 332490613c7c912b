"""LangGraph graphs the `langgraph` runner can run, by name (`run.input.graph`).

`research`: search (memory, then web) → rank → detect conflicts → synthesize → critique, looping through
refine while the critique fails (bounded), then escalate through an `interrupt` when sources disagree, and
finalize. The deterministic parts (ranking, conflict detection, critique rules, the digest) live in their
own modules so they are tested without a graph.
"""
