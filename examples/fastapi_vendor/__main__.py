"""``python -m examples.fastapi_vendor``."""

import sys

from .app import main

sys.exit(main())
