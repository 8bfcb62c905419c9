"""Argument types for the command line: numbers checked on parsing, with the value in the error."""

import argparse


def integer_at_least(minimum: int):
    """Return an argparse type that accepts integers >= `minimum`."""
    expected = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, received {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {expected}, received {value}")
        return value

    return parse


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, received {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, received {text}")
    return value



positive_int = integer_at_least(1)
non_negative_int = integer_at_least(0)
