"""AI-factory capacity planner: scenario loading, validation, CLI and exports."""

__version__ = "0.1.0"
