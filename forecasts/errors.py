"""The forecaster's one error type, apart so that every module of the package can raise it."""


class ForecastError(ValueError):
    """A stream that cannot be forecast, or a request that cannot be met, with what the user should do instead."""
