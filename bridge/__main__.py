import sys

from .cli import main

# The guard matters: model processes are started with "spawn", which imports __main__ again.
if __name__ == "__main__":
    sys.exit(main())
