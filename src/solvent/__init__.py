"""solvent: a deterministic risk and clearing engine for crypto derivatives venues."""

__version__ = "0.1.0"
