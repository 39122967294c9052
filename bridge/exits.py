"""The `dawgen` CLI's exit codes: 0 done, 1 a request or job failed, 2 usage, 3 no daemon answered."""
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
