"""``python -m examples.idp_builder``."""

import sys

from .app import main

sys.exit(main())
