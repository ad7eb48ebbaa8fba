"""`python -m feedback.cli`: the same as the `feedback` console script."""

from feedback.cli import main

main()
