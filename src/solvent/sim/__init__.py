"""The stress simulator: price paths, trader populations and market makers driving the real engine.

Every liquidation, fund entry and ADL in a simulation is `solvent.engine.core.Engine` applying
SPEC §10 commands; a run can be exported as a scenario file that `solvent replay` reproduces.
Floats appear only in path generation, population sampling and statistics; every amount booked is
the engine's exact integer arithmetic.
"""
