"""`python -m deskpilot.cli`: the same as the `deskpilot` script."""

from deskpilot.cli import main

if __name__ == "__main__":
    main()
