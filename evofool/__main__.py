"""``python -m evofool``, the same as the ``evofool`` command."""

import sys

from evofool.cli.main import main

sys.exit(main())
