#!/bin/sh
# Runs on the target right after extraction, before variables are substituted.
set -eu
echo "Preparing ${OCTOPACK_ENVIRONMENT:-no environment}"
