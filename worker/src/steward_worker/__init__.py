"""Steward's Python worker: hosts agent frameworks behind the core's JSON-lines runner protocol.

Run as `python -m steward_worker`; see docs/runner-protocol.md for the wire format.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
