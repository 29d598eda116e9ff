"""``python -m xcsvm.distributed train ...`` (run it under ``mpiexec``)."""

import sys

from .cli import main

sys.exit(main())
