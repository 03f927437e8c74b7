import sys

from inferenceguard.service.cli import main

sys.exit(main())
