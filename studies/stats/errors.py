"""The one exception type the statistics core raises for bad input."""


class StatsInputError(ValueError):
    """Input that cannot be analysed (wrong shape, missing cells, inconsistent values).

    The message names what is wrong and gives the first few offending examples, so it can be
    shown to a study coordinator as is.
    """
