"""One router per domain of ``/api/v1``; each is thin and calls the project's sub-APIs."""
