#!/usr/bin/python3
"""Start the strict local AWS endpoint (see aws_endpoint/README.md).

    /usr/bin/python3 tests/servers/aws_endpoint.py --credentials AKID:SECRET [--seed-service us-east-1:NAME]...

The first line on stdout is {"port": N, "control": "http://127.0.0.1:N/__control"}.
SIGTERM or SIGINT stops it (and writes --dump-state).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from aws_endpoint.server import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
