"""`python -m tracker` and the `tracker` console script.

The stop signals are held before anything else is imported (`tracker.stop_signals`):
loading the command line takes most of the first half second, and a Ctrl-C in it must
neither become a traceback nor be lost.
"""

from tracker import stop_signals


def main() -> None:
    stop_signals.hold()
    from tracker.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
