"""``python -m mmscore`` == the ``mmscore`` command."""

import sys

from mmscore.cli.main import main

sys.exit(main())
