#!/bin/sh
# Runs on the target after extraction and variable substitution.
set -eu
echo "Deploying ${OCTOPACK_PACKAGE_ID:-Hello.App} ${OCTOPACK_PACKAGE_VERSION:-?} to ${OCTOPACK_INSTALL_DIR:-.}"
cat config/app.conf
