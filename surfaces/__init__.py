"""What is minimized: analytic 2-D surfaces, user formulas, and models on synthetic data."""

from surfaces.analytic import SURFACES, Surface, ill_conditioned_bowl
from surfaces.formula import FormulaError, parse_formula

__all__ = ["SURFACES", "FormulaError", "Surface", "ill_conditioned_bowl", "parse_formula"]
