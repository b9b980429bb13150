"""``python -m examples.authlib_vendor``."""

import sys

from .app import main

sys.exit(main())
