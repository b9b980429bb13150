"""``python -m examples.flask_vendor``."""

import sys

from .app import main

sys.exit(main())
