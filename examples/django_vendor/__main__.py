"""``python -m examples.django_vendor``."""

import sys

from .app import main

sys.exit(main())
