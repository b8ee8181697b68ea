# -*- coding: utf-8 -*-
# Copyright: mailtls maintainers
# MIT OR Apache-2.0 (see the mailtls repository)
"""What the mailtls modules share: their common options, building the
command line from a module's parameters, running the mailtls binary with
--json, and failing a task with mailtls's own message. The modules keep
only what is theirs: their options, and how mailtls's JSON maps to their
result. Their docs for the common options are the doc fragment
mailtls.mailtls.common (plugins/doc_fragments/common.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

# mailtls exit codes (its README, "Exit codes").
OK, ERROR, CHANGES_PENDING, ROLLED_BACK = 0, 1, 2, 3

# Every module runs the binary (doc fragment mailtls.mailtls.common).
BINARY_ARGS = dict(
    binary=dict(type="path", default="mailtls"),
)

# The modules that change a server keep state and reload
# (doc fragment mailtls.mailtls.common.state).
STATE_ARGS = dict(
    state_dir=dict(type="path"),
    reload_timeout=dict(type="int"),
)


def argument_spec(own, state=True):
    """A module's argument_spec: its own options and the common ones."""
    spec = dict(own)
    spec.update(BINARY_ARGS)
    if state:
        spec.update(STATE_ARGS)
    return spec


def option_args(params, names):
    """`--name value` for each of `names` the task set (`_` in a name becomes
    `-`, numbers are written as text); options left unset are not passed."""
    args = []
    for name in names:
        value = params.get(name)
        if value is None or value == "":
            continue
        args += ["--" + name.replace("_", "-"), str(value)]
    return args


def run_mailtls(module, subcommand_args):
    """Runs `mailtls --json --yes [globals] SUBCOMMAND...`.

    Returns (rc, document, stderr, cmd); fails the task when mailtls printed
    no JSON document (it always prints one, even for an error)."""
    params = module.params
    binary = module.get_bin_path(params["binary"], required=True)
    cmd = [binary, "--json", "--yes", "--color", "never"]
    cmd += option_args(params, [name for name in STATE_ARGS if name in params])
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


def fail(module, rc, document, stderr, cmd, default, **extra):
    """Fails the task with mailtls's message, its exit code, stderr and the command run."""
    module.fail_json(
        msg=error_message(document, stderr, default), rc=rc, exit_code=rc, stderr=stderr, cmd=cmd, **extra
    )


def run_or_fail(module, subcommand_args, ok=(OK,), **extra):
    """Runs mailtls and fails the task unless its exit code is in `ok`.

    Returns (rc, document, cmd); `extra` goes into the failed result."""
    rc, document, err, cmd = run_mailtls(module, subcommand_args)
    if rc not in ok:
        fail(module, rc, document, err, cmd, "mailtls %s failed" % subcommand_args[0], **extra)
    return rc, document, cmd
