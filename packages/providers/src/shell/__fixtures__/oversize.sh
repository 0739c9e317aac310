#!/bin/sh
# Writes stdout without end (from a child process, so the script itself is not the writer).
yes '{"apiVersion":"forgejo-fleet.shell/v1","padding":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}'
