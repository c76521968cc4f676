"""``python -m rig_agent`` is the ``rig-agent`` command."""

import sys

from rig_agent.cli import main

sys.exit(main())
