# -*- coding: utf-8 -*-
# Copyright: mailtls maintainers
# MIT OR Apache-2.0 (see the mailtls repository)
"""What the mailtls modules share: running the mailtls binary with --json."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

# mailtls exit codes (its README, "Exit codes").
OK, ERROR, CHANGES_PENDING, ROLLED_BACK = 0, 1, 2, 3

# Options every module takes, with the same meaning as the CLI's global options.
COMMON_ARGS = dict(
    binary=dict(type="path", default="mailtls"),
    state_dir=dict(type="path"),
    reload_timeout=dict(type="int"),
)


def run_mailtls(module, subcommand_args):
    """Runs `mailtls --json --yes [globals] SUBCOMMAND...`.

    Returns (rc, document, stderr, cmd); fails the task when mailtls printed
    no JSON document (it always prints one, even for an error)."""
    binary = module.get_bin_path(module.params["binary"], required=True)
    cmd = [binary, "--json", "--yes", "--color", "never"]
    if module.params.get("state_dir"):
        cmd += ["--state-dir", module.params["state_dir"]]
    if module.params.get("reload_timeout") is not None:
        cmd += ["--reload-timeout", str(module.params["reload_timeout"])]
    cmd += subcommand_args
    rc, out, err = module.run_command(cmd)
    try:
        document = json.loads(out) if out.strip() else None
    except ValueError:
        document = None
    if not isinstance(document, dict):
        module.fail_json(msg="mailtls printed no JSON document", rc=rc, stdout=out, stderr=err, cmd=cmd)
    return rc, document, err, cmd


def error_message(document, stderr, default):
    """mailtls's own one-line message: its JSON `error`, else stderr's last line."""
    if document.get("error"):
        return document["error"]
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else default
