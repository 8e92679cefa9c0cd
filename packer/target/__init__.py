"""The deployment target: fetch, verify, extract, run the process (scripts, variables, health), journal, locks, retention."""
