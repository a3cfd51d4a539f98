"""``python -m fastmlp``: see fastmlp.cli."""
import sys

from .cli import main

sys.exit(main())
