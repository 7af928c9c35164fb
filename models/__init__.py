"""The capacity-expansion model: Pyomo MIP solved by HiGHS.

create_model -> solve -> extract_plan, plus shadow prices, infeasibility diagnosis and an
independent plan checker that shares no code with the formulation.
"""

from models.inputs import PlanInputs, SolverOptions

__all__ = ["PlanInputs", "SolverOptions"]
